"""The landing trace: the forward pass a fresh session opens on, precomputed, so a fresh server's first chart does
not wait for torch, TransformerLens and sae-lens to import (~5-6 s on 2 cores; the rest of the first chart takes
~2 s).

`python -m interp landing` runs each embedded model's default request (its default prompt, its middle SAE: what
components.session.request() gives a new session) through the app's own backend and writes the Trace, exactly,
and the ModelInfo to assets/<model>/landing_trace.safetensors (arrays as tensors, the rest as JSON in the file's
metadata: plain data only, like every shipped asset). The app (components.cached) reads it only for that same
request, and only when the digest of the files that made it (the model's weights, config and tokenizer, the
SAE's weights and config) is unchanged and the backend kind is the same; anything else, or an unreadable file,
is computed live as before. tests/test_landing.py checks that the committed file equals a live trace bit for bit
(so a retrained model or a changed trace fails CI until the file is rewritten) and that a changed weight file or
request is ignored. No torch here: numpy and the standard library only.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np

FILE = "landing_trace.safetensors"
FORMAT = 1
TOP_TOKENS = 64  # next-token strings kept (the run record lists the top 5)
PROBE = (50, 0)  # the head probe the attention page shows (components.cached.probe_head_scores: length, seed)
_MODEL_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")
_SAE_FILES = ("cfg.json", "sae_weights.safetensors")


@dataclasses.dataclass(frozen=True)
class Landing:
    """What a fresh session's default view needs from the model, precomputed."""

    trace: object  # interp.trace.Trace
    info: object  # interp.backends.api.ModelInfo
    probe: dict  # head-probe scores for PROBE (name -> [layer, head])
    token_strings: dict  # id -> text (backend.str_tokens) of the trace's top next tokens


def default_request(model_name: str):
    """The request a new session makes for `model_name` (components.session.request(): the registry's default
    prompt and the middle SAE)."""
    from interp.registry import REGISTRY
    from interp.requests import TraceRequest

    spec = REGISTRY.get(model_name)
    ids = [s.id for s in spec.saes]
    return TraceRequest(model_name, spec.default_prompt, saes=(ids[len(ids) // 2],) if ids else ())


def path(model_name: str) -> Path | None:
    """Where an embedded model's landing trace lives (None for hub and remote models)."""
    from interp.registry import REGISTRY

    spec = REGISTRY.get(model_name)
    return Path(spec.source) / FILE if spec.embedded else None


def digest(request) -> str:
    """sha256 over the files whose content made the trace: the model's and each requested SAE's."""
    from interp.registry import REGISTRY

    spec = REGISTRY.get(request.model)
    h = hashlib.sha256()
    files = [Path(spec.source) / f for f in _MODEL_FILES]
    for sae_id in request.saes:
        files += [spec.sae(sae_id).path / f for f in _SAE_FILES]
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes() if f.exists() else b"<missing>")
    return h.hexdigest()


def _request_json(request) -> dict:
    return dataclasses.asdict(request)


def save(trace, info, request, kind: str, out: Path, probe: dict | None = None,
         token_strings: dict | None = None) -> Path:
    """Write the trace (every array exactly), the model info, the model's head-probe scores (the attention page's
    "every head at a glance" for PROBE_REQUEST) and the key (request, digest, backend kind)."""
    from interp.trace import SAEActivations, Trace

    if request.steering:
        raise ValueError("a landing trace is an unsteered default request")
    arrays, meta = {}, {"format": FORMAT, "request": _request_json(request), "digest": digest(request), "kind": kind,
                        "info": dataclasses.asdict(info), "trace": {}, "saes": {},
                        "token_strings": {str(int(k)): v for k, v in (token_strings or {}).items()}}
    for f in dataclasses.fields(Trace):
        value = getattr(trace, f.name)
        if isinstance(value, np.ndarray):
            arrays[f"trace.{f.name}"] = value
        elif f.name == "saes":
            for sid, acts in value.items():
                meta["saes"][sid] = {}
                for g in dataclasses.fields(SAEActivations):
                    v = getattr(acts, g.name)
                    if isinstance(v, np.ndarray):
                        arrays[f"sae.{sid}.{g.name}"] = v
                    else:
                        meta["saes"][sid][g.name] = v
        else:
            meta["trace"][f.name] = list(value) if isinstance(value, tuple) else value
    for name, value in (probe or {}).items():
        arrays[f"probe.{name}"] = np.asarray(value)
    from safetensors.numpy import save_file

    out.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(out), metadata={"meta": json.dumps(meta)})
    return out


def load(request, kind: str, file: Path | None = None):
    """A Landing if `file` (default: the model's landing file) holds exactly this request, made from the same
    files by the same backend kind; else None. Never raises: a missing, stale or unreadable
    file just means the trace is computed live."""
    from interp.backends.api import ModelInfo
    from interp.trace import SAEActivations, Trace

    try:
        file = file or path(request.model)
        if file is None or not file.exists() or request.steering:
            return None
        from safetensors import safe_open

        with safe_open(str(file), framework="numpy") as f:
            meta = json.loads(f.metadata()["meta"])
            if (meta.get("format") != FORMAT or meta.get("kind") != kind
                    or meta.get("request") != json.loads(json.dumps(_request_json(request)))
                    or meta.get("digest") != digest(request)):
                return None
            z = {k: f.get_tensor(k) for k in f.keys()}
        saes = {}
        for sid, plain in meta["saes"].items():
            arrays = {g.name: z[f"sae.{sid}.{g.name}"] for g in dataclasses.fields(SAEActivations)
                      if f"sae.{sid}.{g.name}" in z}
            saes[sid] = SAEActivations(**plain, **arrays)
        fields = {}
        for f in dataclasses.fields(Trace):
            if f.name == "saes":
                fields[f.name] = saes
            elif f"trace.{f.name}" in z:
                fields[f.name] = z[f"trace.{f.name}"]
            else:
                v = meta["trace"][f.name]
                fields[f.name] = tuple(v) if isinstance(v, list) else v
        probe = {k[len("probe."):]: v for k, v in z.items() if k.startswith("probe.")}
        return Landing(Trace(**fields), ModelInfo(**meta["info"]), probe,
                       {int(k): v for k, v in meta.get("token_strings", {}).items()})
    except Exception:  # noqa: BLE001  (a cache: any problem means compute it live)
        return None


def write_all(models=None, log=print) -> list[Path]:
    """`python -m interp landing`: the default request of every embedded model (or `models`), through the app's
    own backend."""
    from interp.backends import load_backend
    from interp.registry import REGISTRY

    written = []
    for name in models or [n for n in REGISTRY.names() if REGISTRY.get(n).embedded]:
        backend = load_backend(name)
        request = default_request(name)
        from interp.backends.api import HeadProbeRequest

        probe = backend.head_probe(HeadProbeRequest(name, *PROBE))
        trace = backend.trace(request)
        top = [int(i) for i in np.argsort(-trace.next_token_logprobs)[:TOP_TOKENS]]
        out = save(trace, backend.info, request, backend.backend_name, path(name), probe,
                   dict(zip(top, backend.str_tokens(top))))
        log(f"{name}: {out} ({out.stat().st_size / 1e3:.0f} kB)")
        written.append(out)
    return written
