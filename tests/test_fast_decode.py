"""The lean decode loop recomputes TransformerLens's own forward: logits match step by step, steered or not."""
import pytest
import torch

from interp import fast_decode
from interp.generation import generate
from interp.requests import FeatureSteer, GenerateRequest
from interp.steering import steering_hooks
from tests.conftest import build_request

SAE = "blocks.2.hook_resid_post"
PROMPT = "Elizabeth looked at Mr. Darcy and said that she"


@pytest.mark.parametrize("steer", [None, FeatureSteer(SAE, 5, 3.0, "add", 3),
                                   FeatureSteer(SAE, 7, 2.0, "clamp"), FeatureSteer("blocks.1.hook_resid_post", 9, 0.0, "ablate", 2, 8)])
def test_fast_decode_matches_transformer_lens(backend, steer):
    model = backend.model
    toks = model.to_tokens(PROMPT)
    steers = () if steer is None else (steer,)
    with torch.inference_mode():
        with model.hooks(fwd_hooks=steering_hooks(steers, backend.sae)):
            ref = model(toks)
        offset = [0]
        dec = fast_decode.FastDecoder(model, steering_hooks(steers, backend.sae, pos_offset=lambda: offset[0]))
        parts = []
        for a, b in ((0, 5), (5, 6), (6, 7), (7, toks.shape[1])):  # prompt chunk, then single-token steps
            offset[0] = a
            parts.append(dec(toks[:, a:b]))
    assert (torch.cat(parts, 1) - ref).abs().max().item() <= 1e-4


def test_fast_and_transformer_lens_generation_agree(backend, monkeypatch):
    req = GenerateRequest(build_request(prompt="She walked into the room and", saes=(SAE,),
                                        steering=(FeatureSteer(SAE, 5, 10.0),)), 20, temperature=0.0)
    fast = generate(backend, req)
    monkeypatch.setattr(fast_decode, "supports", lambda *a: False)
    slow = generate(backend, req)
    assert fast.tokens == slow.tokens


def test_unsupported_hook_points_fall_back():
    class Cfg:
        normalization_type, positional_embedding_type, attn_only, act_fn = "LNPre", "standard", False, "gelu_new"
        parallel_attn_mlp, n_key_value_heads, use_attn_scale, scale_attn_by_inverse_layer_idx, final_rms = (
            False, None, True, False, False)

    class M:
        cfg = Cfg()

    assert fast_decode.supports(M(), ["blocks.2.hook_resid_post"])
    assert not fast_decode.supports(M(), ["blocks.2.attn.hook_z"])
    M.cfg.normalization_type = "RMSPre"
    assert not fast_decode.supports(M(), [])
