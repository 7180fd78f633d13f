"""Broken or mismatched SAE folders and an unreachable hub: one clear sentence, never a traceback."""
import json
import shutil
from dataclasses import replace

import pytest

from interp.backends.transformer_lens import TransformerLensBackend
from interp.errors import LoadError
from interp.registry import SAESpec
from interp.requests import TraceRequest
from tests.test_app import assert_clean, new_app

GOOD = "blocks.2.hook_resid_post"


def backend_with_sae(backend, spec, folder, sae_id=GOOD, hook=GOOD):
    """The loaded embedded model with its SAE list replaced by one SAE read from `folder`."""
    bad = replace(spec, saes=(SAESpec(id=sae_id, hook=hook, path=folder),))
    return TransformerLensBackend(bad, backend.model)


def copy_sae(spec, tmp_path):
    folder = tmp_path / "sae"
    shutil.copytree(spec.sae(GOOD).path, folder)
    return folder


def test_truncated_weights(backend, spec, tmp_path):
    folder = copy_sae(spec, tmp_path)
    data = (folder / "sae_weights.safetensors").read_bytes()
    (folder / "sae_weights.safetensors").write_bytes(data[: len(data) // 3])
    b = backend_with_sae(backend, spec, folder)
    with pytest.raises(LoadError, match=f"Could not load SAE '{GOOD}'"):
        b.trace(TraceRequest(spec.name, "Hello there", saes=(GOOD,)))


def test_missing_folder(backend, spec, tmp_path):
    b = backend_with_sae(backend, spec, tmp_path / "nowhere")
    with pytest.raises(LoadError, match="missing or incomplete"):
        b.sae(GOOD)


def test_sae_for_another_hook(backend, spec, tmp_path):
    folder = copy_sae(spec, tmp_path)
    b = backend_with_sae(backend, spec, folder, hook="blocks.1.hook_resid_post")
    with pytest.raises(LoadError, match="reads 'blocks.2.hook_resid_post'"):
        b.sae(GOOD)


def test_sae_for_another_width(backend, spec, tmp_path):
    """An SAE trained on a wider model (d_in 256) next to this d_model 128 model."""
    import torch
    from safetensors.torch import load_file, save_file

    folder = copy_sae(spec, tmp_path)
    cfg = json.loads((folder / "cfg.json").read_text())
    cfg["d_in"] = 256
    (folder / "cfg.json").write_text(json.dumps(cfg))
    w = load_file(folder / "sae_weights.safetensors")
    w = {k: torch.zeros(*[256 if s == 128 else s for s in v.shape]) for k, v in w.items()}
    save_file(w, folder / "sae_weights.safetensors")
    b = backend_with_sae(backend, spec, folder)
    with pytest.raises(LoadError, match="expects width 256, the model has 128"):
        b.sae(GOOD)


def test_hub_model_unreachable_falls_back_to_the_embedded_default():
    """gpt2-small is not in the (offline) cache: the app says so, without trying to load it, and shows the
    embedded model (the sidebar names it). The load-failure fallback itself: tests/test_hub_offline.py."""
    at = new_app(model="gpt2-small")
    assert_clean(at)
    assert any("unavailable" in w.value and "HF_HUB_OFFLINE" in w.value for w in at.warning), [w.value for w in at.warning]
    assert at.selectbox(key="model_box").value == "tiny-austen-bible"
    assert at.query_params["model"] == "tiny-austen-bible"
    assert at.title[0].value == "Attention patterns"
