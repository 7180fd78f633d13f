"""The registry's *hub* code path ("gpt2-small": HookedSAETransformer.from_pretrained("gpt2") and
SAE.from_pretrained("gpt2-small-res-jb", ...)), run fully offline against a fake Hugging Face cache.

tests/hub_cache.py writes a tiny GPT-2 (2 layers, d_model 64) under models--gpt2 and two tiny SAEs under
models--jbloom--GPT2-Small-SAEs-Reformatted, in the hub's real on-disk layout. huggingface_hub and
transformers read HF_HOME / HF_HUB_OFFLINE when they are imported, so every load runs in a fresh
subprocess with the cache's environment; the subprocess also refuses every socket connection, so a load
that reaches for the network fails loudly instead of quietly downloading the real gpt2.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hub_cache import build_hub_cache, offline_env

ROOT = Path(__file__).resolve().parent.parent
MODEL = "gpt2-small"
SAE_ID = "blocks.0.hook_resid_pre"
UNCACHED_SAE_ID = "blocks.5.hook_resid_pre"  # in the registry and in the sae-lens release, not in the cache
PROMPT = "Hello world. Hello world."
MARK = "HUBPROBE "

# Runs in the subprocess: any socket connection is refused (and recorded), then the real entry points.
_NO_NETWORK = r'''
import json, socket, sys
attempts = []
def _refuse(*args, **kwargs):
    attempts.append(repr(args[1:] if args and isinstance(args[0], socket.socket) else args)[:200])
    raise OSError("network access attempted in an offline test")
socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse
socket.create_connection = _refuse
def emit(out):
    out["network_attempts"] = attempts
    print("''' + MARK + r'''" + json.dumps(out), flush=True)
'''

_PROBE_TRACE = _NO_NETWORK + r'''
import numpy as np, torch
import huggingface_hub
from huggingface_hub import constants, try_to_load_from_cache
from interp.backends import load_backend
from interp.errors import LoadError
from interp.requests import TraceRequest

MODEL, SAE_ID, UNCACHED, PROMPT = sys.argv[1:5]
out = {"offline": bool(constants.HF_HUB_OFFLINE), "hub_cache": constants.HF_HUB_CACHE,
       "config_path": try_to_load_from_cache("gpt2", "config.json")}
b = load_backend(MODEL)
cfg = b.model.cfg
out["model"] = {"n_layers": cfg.n_layers, "d_model": cfg.d_model, "n_heads": cfg.n_heads, "n_ctx": cfg.n_ctx,
                "d_vocab": cfg.d_vocab, "bos_token_id": b.model.tokenizer.bos_token_id}
t = b.trace(TraceRequest(MODEL, PROMPT, saes=(SAE_ID,)))
att = t.attention
n = t.n_pos
out["trace"] = {"tokens": t.tokens.tolist(), "str_tokens": list(t.str_tokens), "attention_shape": list(att.shape),
                "row_sum_max_err": float(np.abs(att.sum(-1) - 1).max()),
                "above_diagonal_max": float(np.triu(att, k=1).max()),
                "sae_keys": sorted(t.saes)}
a = t.saes[SAE_ID]
sae = b.sae(SAE_ID)
with torch.no_grad():
    _, cache = b.model.run_with_cache(torch.tensor(t.tokens)[None], names_filter=lambda h: h == sae.cfg.metadata.hook_name)
    feats = sae.encode(cache[sae.cfg.metadata.hook_name][0])  # [pos, d_sae]
k = a.top_idx.shape[1]
top_act = torch.from_numpy(np.array(a.top_act))
top_idx = torch.from_numpy(np.array(a.top_idx)).long()
out["sae"] = {
    "hook": a.hook, "d_sae": a.d_sae, "sae_cfg_d_sae": sae.cfg.d_sae, "sae_cfg_d_in": sae.cfg.d_in,
    "architecture": sae.cfg.architecture(), "shape": list(feats.shape), "k": k,
    "n_active": int((feats > 0).sum()),
    # the trace's top-k values are the k largest of sae.encode, and sit at the indices it reports
    "top_act_err": float((top_act - feats.topk(k, dim=-1).values).abs().max()),
    "top_idx_err": float((feats.gather(-1, top_idx) - top_act).abs().max()),
    "l0_equal": bool((torch.from_numpy(np.array(a.l0)).long() == (feats > 0).sum(-1)).all()),
    "total_act_err": float((torch.from_numpy(np.array(a.total_act)) - feats.sum(-1)).abs().max()),
}
try:
    b.sae(UNCACHED)
    out["uncached_sae"] = {"raised": None}
except Exception as e:
    out["uncached_sae"] = {"raised": type(e).__name__, "is_load_error": isinstance(e, LoadError), "message": str(e)}
emit(out)
'''

_PROBE_LOAD = _NO_NETWORK + r'''
from interp.backends import load_backend
from interp.errors import LoadError
try:
    load_backend(sys.argv[1])
    out = {"raised": None}
except Exception as e:
    out = {"raised": type(e).__name__, "is_load_error": isinstance(e, LoadError), "message": str(e)}
emit(out)
'''


def run_probe(script: str, info: dict, *args: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", script, *args], cwd=ROOT, env=offline_env(info),
                          capture_output=True, text=True, timeout=300)
    lines = [line for line in proc.stdout.splitlines() if line.startswith(MARK)]
    assert proc.returncode == 0 and lines, f"probe failed (rc {proc.returncode}):\n{proc.stdout}\n{proc.stderr[-4000:]}"
    return json.loads(lines[-1][len(MARK):])


@pytest.fixture(scope="module")
def hub(tmp_path_factory) -> dict:
    return build_hub_cache(tmp_path_factory.mktemp("hf_home"))


@pytest.fixture(scope="module")
def probe(hub) -> dict:
    return run_probe(_PROBE_TRACE, hub, MODEL, SAE_ID, UNCACHED_SAE_ID, PROMPT)


def test_cache_has_the_hub_layout(hub):
    cache = Path(hub["hub_cache"])
    for repo in ("models--gpt2", "models--jbloom--GPT2-Small-SAEs-Reformatted"):
        commit = (cache / repo / "refs" / "main").read_text()
        assert len(commit) == 40 and (cache / repo / "snapshots" / commit).is_dir()
    files = set(hub["files"])
    snap = Path(hub["model_snapshot"]).relative_to(cache).as_posix()
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"):
        assert f"{snap}/{name}" in files
    assert json.loads((Path(hub["model_snapshot"]) / "config.json").read_text())["n_ctx"] == hub["n_ctx"]


def test_hub_model_loads_offline_from_the_cache(probe, hub):
    assert probe["offline"] and probe["network_attempts"] == []
    assert Path(probe["hub_cache"]) == Path(hub["hub_cache"])
    assert probe["config_path"].startswith(hub["hub_cache"])
    m = probe["model"]
    # the tiny cached model, not the real gpt2-small (12 layers, d_model 768, 50257 tokens)
    assert (m["n_layers"], m["d_model"], m["n_heads"]) == (hub["n_layers"], hub["d_model"], hub["n_heads"])
    assert (m["n_ctx"], m["d_vocab"]) == (hub["n_ctx"], hub["d_vocab"])


def test_hub_trace_shapes_and_bos(probe, hub):
    t = probe["trace"]
    n = len(t["tokens"])
    assert t["tokens"][0] == probe["model"]["bos_token_id"] == 0
    assert t["str_tokens"][0] == "<|endoftext|>"
    assert "".join(t["str_tokens"][1:]) == PROMPT
    assert t["attention_shape"] == [hub["n_layers"], hub["n_heads"], n, n]
    assert t["row_sum_max_err"] < 1e-5
    assert t["above_diagonal_max"] == 0.0  # causal
    assert t["sae_keys"] == [SAE_ID]


def test_hub_sae_activations_match_encode(probe, hub):
    s = probe["sae"]
    assert s["hook"] == SAE_ID
    assert s["d_sae"] == s["sae_cfg_d_sae"] == hub["d_sae"]
    assert s["sae_cfg_d_in"] == hub["d_model"] and s["architecture"] == "standard"
    assert s["shape"] == [len(probe["trace"]["tokens"]), hub["d_sae"]]
    assert s["n_active"] > 0  # a non-trivial check, not all-zero features
    assert s["top_act_err"] < 1e-5 and s["top_idx_err"] < 1e-5 and s["total_act_err"] < 1e-4
    assert s["l0_equal"]


def test_uncached_hub_sae_is_a_load_error(probe):
    e = probe["uncached_sae"]
    assert e["raised"] == "LoadError" and e["is_load_error"], e
    msg = e["message"]
    assert msg.startswith(f"Could not load SAE {UNCACHED_SAE_ID!r}") and "Traceback" not in msg
    assert "cache" in msg  # says why: not in the local cache, hub unreachable
    assert probe["network_attempts"] == []


def test_partly_cached_hub_model_is_a_load_error(hub, tmp_path):
    """Weights and config cached but no tokenizer.json (an interrupted download): LoadError, not ValueError."""
    info = dict(hub, hf_home=str(tmp_path), hub_cache=str(tmp_path / "hub"))
    shutil.copytree(hub["hub_cache"], info["hub_cache"], symlinks=True)
    snapshot = Path(info["hub_cache"]) / Path(hub["model_snapshot"]).relative_to(hub["hub_cache"])
    (snapshot / "tokenizer.json").unlink()
    out = run_probe(_PROBE_LOAD, info, MODEL)
    assert out["raised"] == "LoadError" and out["is_load_error"], out
    assert out["message"].startswith("Could not load gpt2-small") and "\n" not in out["message"]
    assert out["network_attempts"] == []


_PROBE_APP = _NO_NETWORK + r'''
from streamlit.testing.v1 import AppTest
MODEL, SAE_ID = sys.argv[1:3]
at = AppTest.from_file("app.py", default_timeout=120)
at.query_params["model"] = MODEL
at.query_params["sae"] = SAE_ID
at.query_params["prompt"] = "Hello world. Hello world."
at.run()
views = {}
for view in ("views/attention.py", "views/residual_stream.py", "views/sae_features.py", "views/compare.py"):
    at.switch_page(view).run()
    views[view] = {"exceptions": [e.value for e in at.exception], "errors": [e.value for e in at.error],
                   "titles": [t.value for t in at.title], "charts": len(at.get("vega_lite_chart"))}
emit({"views": views, "model": at.query_params.get("model")})
'''


def test_every_view_renders_on_the_hub_cache_model(hub):
    """The app itself (AppTest) on the hub path: attention, residual stream, SAE and compare views draw for the
    cached tiny gpt2 with a res-jb-layout SAE, with no exception and no network."""
    out = run_probe(_PROBE_APP, hub, MODEL, SAE_ID)
    assert out["network_attempts"] == []
    assert out["model"] == MODEL
    for view, v in out["views"].items():
        assert v["exceptions"] == [] and v["errors"] == [], (view, v)
        assert v["charts"] >= 1, view
