"""A run record: one JSON file that says what was run (model, SAE, prompt, view settings, seed, steering) and
what came out, and that the app can load back to restore the run.

Loading is defensive: a record is user input. Model and SAE must be registry names (a record can never point
the server at a path), every steering entry is re-validated by FeatureSteer, and unknown view settings are
dropped with a note.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from interp import boundary
from interp.errors import BadInput, InterpError
from interp.registry import REGISTRY
from interp.requests import MAX_ALPHA, STEER_MODES, FeatureSteer, TraceRequest

FORMAT = "attention-sae-explorer/run-record"
VERSION = 1
MAX_BYTES = 1_000_000
PAGES = ("attention", "residual-stream", "sae-features", "compare")


@dataclass(frozen=True)
class RunRecord:
    model: str
    prompt: str
    sae: str | None
    page: str
    view: dict = field(default_factory=dict)  # widget key -> value (components.session.VIEW_STATE)
    steering: tuple[FeatureSteer, ...] = ()
    seed: int | None = None
    outputs: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # what was dropped while loading

    def to_dict(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "model": self.model, "prompt": self.prompt, "sae": self.sae,
                "page": self.page, "view": dict(self.view), "seed": self.seed,
                "steering": [asdict(s) for s in self.steering], "outputs": self.outputs}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1, sort_keys=True)


def parse(data: str | bytes, view_keys: dict | None = None) -> RunRecord:
    """Read and validate a record; raises BadInput (only) with one sentence a user can act on.
    view_keys: allowed view settings -> parser (default: interp.boundary.FIELDS, the documented ranges)."""
    try:
        return _parse(data, boundary.FIELDS if view_keys is None else view_keys)
    except InterpError:
        raise
    except RecursionError:
        raise BadInput("This file nests too deep to be a run record.") from None
    except Exception as e:  # noqa: BLE001  the last net: a record is user input, never a traceback
        raise BadInput(f"This file is not a valid run record ({type(e).__name__}).") from None


def _text(raw: dict, key: str, what: str, optional: bool = False):
    value = raw.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise BadInput(f"The record's {what} must be text, got {boundary.shown(value)}.")
    return value


def _steer(entry, model: str) -> FeatureSteer:
    if not isinstance(entry, dict):
        raise BadInput(f"A steering entry must be an object, got {boundary.shown(entry)}.")
    unknown = set(entry) - {"sae", "feature", "alpha", "mode", "start", "end"}
    if unknown:
        raise BadInput(f"A steering entry has unknown fields {boundary.shown(sorted(unknown))}.")
    sae = _text(entry, "sae", "steering SAE")
    _known_sae(model, sae)
    end = entry.get("end")
    steer = FeatureSteer(
        sae, boundary.Int(0, boundary.MAX_FEATURE, "A steering feature")(entry.get("feature")),
        boundary.Float(-MAX_ALPHA, MAX_ALPHA, "A steering strength")(entry.get("alpha", 0.0)),
        boundary.Choice(STEER_MODES, "A steering mode")(entry.get("mode", "add")),
        boundary.Int(0, boundary.MAX_POS, "A steering start")(entry.get("start", 0)),
        None if end is None else boundary.Int(1, boundary.MAX_POS + 1, "A steering end")(end))
    width = sae_width(model, sae)
    if width is not None and (why := boundary.steer_range(steer.feature, width, sae)):
        raise BadInput(why)
    return steer


def _known_sae(model: str, sae: str) -> None:
    ids = [s.id for s in REGISTRY.get(model).saes]
    if sae not in ids:
        raise BadInput(f"{REGISTRY.get(model).title} has no SAE called {boundary.shown(sae)}. "
                       f"Available: {', '.join(ids) or 'none'}.")


def sae_width(model: str, sae_id: str) -> int | None:
    """d_sae of an embedded SAE, read from its cfg.json (None if unknown before loading: hub SAEs)."""
    path = REGISTRY.get(model).sae(sae_id).path
    try:
        return int(json.loads((path / "cfg.json").read_text())["d_sae"]) if path else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _parse(data: str | bytes, view_keys: dict) -> RunRecord:
    if not isinstance(data, (str, bytes)):
        raise BadInput("A run record is a JSON text file.")
    if len(data) > MAX_BYTES:
        raise BadInput(f"This file is {len(data):,} bytes; a run record is at most {MAX_BYTES:,}.")
    try:
        raw = json.loads(data, parse_constant=_no_constant)
    except RecursionError:
        raise BadInput("This file nests too deep to be a run record.") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise BadInput(f"This file is not a run record (not valid JSON: {boundary.shown(str(e), 120)}).") from None
    boundary.check_depth(raw)
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise BadInput("This file is not a run record of this app (its 'format' field is missing or different).")
    version = raw.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= VERSION:
        raise BadInput(f"This run record has version {boundary.shown(version)}; this app reads version {VERSION}.")
    model = raw.get("model")
    if not isinstance(model, str) or model not in REGISTRY.models:
        raise BadInput(f"The record's model {boundary.shown(model)} is not one this app offers "
                       f"({', '.join(REGISTRY.names())}).")
    sae = _text(raw, "sae", "SAE", optional=True)
    if sae is not None:
        _known_sae(model, sae)
    prompt = _text(raw, "prompt", "prompt")
    TraceRequest(model, prompt)  # the same checks as a typed prompt
    page = raw.get("page", "attention")
    if not isinstance(page, str) or page not in PAGES:
        raise BadInput(f"The record's page {boundary.shown(page)} is not one of {', '.join(PAGES)}.")
    notes, view = [], {}
    raw_view = raw.get("view") or {}
    if not isinstance(raw_view, dict):
        raise BadInput(f"The record's 'view' must be an object of settings, got {boundary.shown(raw_view)}.")
    for key, value in raw_view.items():
        if key not in view_keys:
            notes.append(f"ignored unknown setting {boundary.shown(key)}")
            continue
        try:
            view[key] = view_keys[key](value if isinstance(view_keys[key], _TYPED) else _as_text(value))
        except (InterpError, ValueError, KeyError, TypeError):
            notes.append(f"ignored {key}={boundary.shown(value)} (not a valid value)")
    steering = raw.get("steering") or []
    if not isinstance(steering, list) or len(steering) > 16:
        raise BadInput("The record's 'steering' must be a list of at most 16 entries.")
    steering = tuple(_steer(s, model) for s in steering)
    seed = raw.get("seed")
    if seed is not None:
        seed = boundary.Int(0, 2**32, "The record's seed")(seed)
    outputs = raw.get("outputs") or {}
    if not isinstance(outputs, dict):
        raise BadInput("The record's 'outputs' must be an object.")
    return RunRecord(model, prompt, sae, page, view, steering, seed, outputs, tuple(notes))


_TYPED = (boundary.Int, boundary.Float, boundary.Bool, boundary.Choice, boundary.Text)


def _as_text(value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _no_constant(name: str):
    raise BadInput(f"This file holds {name}; a run record carries only finite numbers.")
