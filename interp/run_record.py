"""A run record: one JSON file that says what was run (model, SAE, prompt, view settings, seed, steering) and
what came out, and that the app can load back to restore the run.

Loading is defensive: a record is user input. Model and SAE must be registry names (a record can never point
the server at a path), every steering entry is re-validated by FeatureSteer, and unknown view settings are
dropped with a note.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from interp.errors import BadInput
from interp.registry import REGISTRY
from interp.requests import FeatureSteer, TraceRequest

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
    """Read and validate a record; raises BadInput with one sentence a user can act on.
    view_keys: allowed view settings -> parser (values are re-parsed from their text, so types are checked)."""
    if len(data) > MAX_BYTES:
        raise BadInput(f"This file is {len(data):,} bytes; a run record is at most {MAX_BYTES:,}.")
    try:
        raw = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise BadInput(f"This file is not a run record (not valid JSON: {e}).") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise BadInput("This file is not a run record of this app (its 'format' field is missing or different).")
    if not isinstance(raw.get("version"), int) or raw["version"] > VERSION:
        raise BadInput(f"This run record has version {raw.get('version')!r}; this app reads version {VERSION} or older.")
    model = raw.get("model")
    if model not in REGISTRY.models:
        raise BadInput(f"The record's model {model!r} is not one this app offers ({', '.join(REGISTRY.names())}).")
    sae = raw.get("sae")
    if sae is not None:
        if not isinstance(sae, str):
            raise BadInput("The record's SAE must be a name.")
        REGISTRY.get(model).sae(sae)  # raises LoadError (an InterpError, one sentence) if the model has no such SAE
    TraceRequest(model, raw.get("prompt"))  # the same checks as a typed prompt
    page = raw.get("page", "attention")
    if page not in PAGES:
        raise BadInput(f"The record's page {page!r} is not one of {', '.join(PAGES)}.")
    notes, view = [], {}
    for key, value in (raw.get("view") or {}).items():
        if view_keys is not None and key not in view_keys:
            notes.append(f"ignored unknown setting {key!r}")
            continue
        try:
            view[key] = view_keys[key](str(value).lower() if isinstance(value, bool) else str(value)) if view_keys else value
        except (ValueError, KeyError):
            notes.append(f"ignored {key}={value!r} (not a valid value)")
    try:
        steering = tuple(FeatureSteer(**s) for s in raw.get("steering") or ())
    except TypeError as e:
        raise BadInput(f"The record's steering entries are malformed ({e}).") from None
    seed = raw.get("seed")
    if seed is not None and not isinstance(seed, int):
        raise BadInput("The record's seed must be an integer.")
    return RunRecord(model, raw["prompt"], sae, page, view, steering, seed, raw.get("outputs") or {}, tuple(notes))
