"""The landing trace (interp.landing): a fresh session's default view drawn without waiting for the model.

The committed files must equal what the app's own backend computes now, bit for bit (a retrained model or a
changed trace fails here until `python -m interp landing` rewrites them); a different request, a changed weight
file, another backend kind or a damaged file is never served; and a fresh process draws the default page from it
before the model has loaded, then loads the model in the background.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from interp import landing
from interp.backends.api import HeadProbeRequest
from interp.registry import DEFAULT_MODEL, REGISTRY
from tests.test_app import new_app

ROOT = Path(__file__).resolve().parent.parent
EMBEDDED = [n for n in REGISTRY.names() if REGISTRY.get(n).embedded]


def _same(a, b, where=""):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b), where
    elif dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            _same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _same(a[k], b[k], f"{where}[{k}]")
    else:
        assert a == b, (where, a, b)


@pytest.mark.parametrize("model", EMBEDDED)
def test_committed_landing_equals_a_live_trace(model):
    from components import cached

    backend = cached.load_backend(model)
    request = landing.default_request(model)
    landed = landing.load(request, backend.backend_name)
    assert landed is not None, f"{landing.path(model)} is missing or stale: run `python -m interp landing`"
    _same(landed.trace, backend.trace(request), "trace")
    assert landed.info == backend.info
    _same(landed.probe, backend.head_probe(HeadProbeRequest(model, *landing.PROBE)), "probe")
    ids = list(landed.token_strings)
    assert len(ids) == landing.TOP_TOKENS and tuple(landed.token_strings.values()) == backend.str_tokens(ids)
    assert ids == [int(i) for i in np.argsort(-landed.trace.next_token_logprobs)[: landing.TOP_TOKENS]]


def test_default_request_is_what_a_new_session_asks_for():
    at = new_app()
    assert not at.exception
    request = at.session_state["_trace_request"]
    assert request == landing.default_request(DEFAULT_MODEL) == session_request_of(at)


def session_request_of(at):
    from interp.requests import TraceRequest

    return TraceRequest(at.session_state["model"], at.session_state["prompt"], saes=(at.session_state["sae"],))


def test_only_the_same_request_files_and_backend_are_served(tmp_path, monkeypatch):
    request = landing.default_request(DEFAULT_MODEL)
    kind = "transformer_lens"
    assert landing.load(request, kind) is not None
    for other in (dataclasses.replace(request, prompt=request.prompt + " again"), dataclasses.replace(request, top_k=4),
                  dataclasses.replace(request, saes=()), dataclasses.replace(request, max_tokens=64)):
        assert landing.load(other, kind) is None, other
    assert landing.load(request, "nnsight") is None  # INTERP_BACKEND=nnsight: computed live
    # a damaged or foreign file is ignored, never raised
    for i, content in enumerate((b"", b"not an npz", landing.path(DEFAULT_MODEL).read_bytes()[:2000])):
        broken = tmp_path / f"broken{i}.npz"
        broken.write_bytes(content)
        assert landing.load(request, kind, broken) is None


def test_a_changed_weight_file_changes_the_digest(tmp_path, monkeypatch):
    """Retrained weights (same names, same request) must not be served the old trace."""
    spec = REGISTRY.get(DEFAULT_MODEL)
    request = landing.default_request(DEFAULT_MODEL)
    before, original = landing.digest(request), landing.path(DEFAULT_MODEL)
    copy = tmp_path / "model"
    shutil.copytree(spec.source, copy, ignore=shutil.ignore_patterns("saes", "*.npz"))
    moved = dataclasses.replace(spec, source=str(copy))
    monkeypatch.setattr(REGISTRY, "get", lambda name: moved if name == DEFAULT_MODEL else REGISTRY.__class__.get(REGISTRY, name))
    assert landing.digest(request) == before  # same bytes, other folder: same digest
    weights = bytearray((copy / "model.safetensors").read_bytes())
    weights[-1] ^= 1
    (copy / "model.safetensors").write_bytes(bytes(weights))
    assert landing.digest(request) != before
    shutil.copy(original, copy / landing.FILE)
    assert landing.load(request, "transformer_lens") is None


def in_a_fresh_process(script: str, mark: str) -> dict:
    """Run `script` in a new Python process (no model loaded, offline) and return the JSON it printed after `mark`."""
    import os

    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    line = next((x for x in proc.stdout.splitlines() if x.startswith(mark)), None)
    assert line, proc.stdout[-2000:] + proc.stderr[-3000:]
    return json.loads(line[len(mark):])


FRESH = """
import json, sys, time
from streamlit.testing.v1 import AppTest
from components import cached
import interp.backends as backends
at = AppTest.from_file("app.py", default_timeout=120).run()
out = {"exceptions": [e.value for e in at.exception], "charts": len(at.get("vega_lite_chart")),
       "ready_after_first_run": sorted(cached._READY), "caption": [c.value for c in at.sidebar.caption if "odel loaded" in c.value or "Loading the model" in c.value],
       "preloading": sorted(backends._PRELOADS)}
t = time.perf_counter()
backends._PRELOADS["tiny-austen-bible"].result(timeout=300)
at.run()
out.update(load_s=time.perf_counter() - t, caption_after=[c.value for c in at.sidebar.caption if "odel loaded" in c.value or "Loading the model" in c.value],
           ready_after=sorted(cached._READY), exceptions_after=[e.value for e in at.exception])
print("FRESH " + json.dumps(out))
"""


def test_a_fresh_process_draws_the_default_page_before_the_model_loads():
    """A new process (no model loaded): the attention page draws every chart from the landing file, the sidebar
    says the model is loading (it is not loaded by then), and the model loads after the page; the next run says it
    is loaded."""
    out = in_a_fresh_process(FRESH, "FRESH ")
    assert out["exceptions"] == [] and out["charts"] >= 2, out
    assert out["ready_after_first_run"] == [] and out["preloading"] == [DEFAULT_MODEL], out
    assert out["caption"] and out["caption"][0].startswith("⏳ Loading the model in the background"), out
    assert out["caption_after"] and out["caption_after"][0].startswith("✅ Model loaded"), out
    assert out["exceptions_after"] == [] and out["ready_after"] == [DEFAULT_MODEL], out


OTHER = """
import json
from streamlit.testing.v1 import AppTest
at = AppTest.from_file("app.py", default_timeout=120)
at.query_params["prompt"] = "Mr. Darcy bowed."
at.run()
print("OTHER " + json.dumps({"exceptions": [e.value for e in at.exception], "charts": len(at.get("vega_lite_chart")),
      "caption": [c.value for c in at.sidebar.caption if "odel loaded" in c.value or "Loading the model" in c.value]}))
"""


def test_a_fresh_process_on_another_prompt_never_claims_a_precomputed_view():
    """Any other prompt is computed live: the first run loads the model and says it is loaded."""
    out = in_a_fresh_process(OTHER, "OTHER ")
    assert out["exceptions"] == [] and out["charts"] >= 2, out
    assert len(out["caption"]) == 1 and out["caption"][0].startswith("✅ Model loaded"), out
