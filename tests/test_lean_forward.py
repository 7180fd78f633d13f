"""The lean forward recomputes TransformerLens's own forward: logits and every recorded activation match
TL's run_with_cache, steered or not, in one chunk or token by token; traces built either way agree."""
import numpy as np
import pytest
import torch

from interp import hooks, lean_forward
from interp.generation import generate
from interp.requests import FeatureSteer, GenerateRequest
from interp.steering import steering_hooks
from tests.conftest import build_request

SAE = "blocks.2.hook_resid_post"
PROMPT = "Elizabeth looked at Mr. Darcy and said that she"
STEERS = [None, FeatureSteer(SAE, 5, 3.0, "add", 3), FeatureSteer(SAE, 7, 2.0, "clamp"),
          FeatureSteer("blocks.1.hook_resid_post", 9, 0.0, "ablate", 2, 8)]


def _recordable(n_layers):
    per_layer = (hooks.pattern, hooks.resid_pre, hooks.resid_mid, hooks.resid_post, hooks.attn_out, hooks.mlp_out,
                 lambda l: f"blocks.{l}.attn.hook_v", lambda l: f"blocks.{l}.attn.hook_z")
    return {h(l) for l in range(n_layers) for h in per_layer} | {"hook_embed", "hook_pos_embed"}


@pytest.mark.parametrize("steer", STEERS)
def test_decode_steps_match_transformer_lens(backend, steer):
    model = backend.model
    toks = model.to_tokens(PROMPT)
    steers = () if steer is None else (steer,)
    with torch.inference_mode():
        with model.hooks(fwd_hooks=steering_hooks(steers, backend.sae)):
            ref = model(toks)
        offset = [0]
        dec = lean_forward.LeanForward(model, steering_hooks(steers, backend.sae, pos_offset=lambda: offset[0]))
        parts = []
        for a, b in ((0, 5), (5, 6), (6, 7), (7, toks.shape[1])):  # prompt chunk, then single-token steps
            offset[0] = a
            parts.append(dec(toks[:, a:b]))
    assert (torch.cat(parts, 1) - ref).abs().max().item() <= 1e-4


@pytest.mark.parametrize("steer", STEERS)
def test_recorded_activations_match_run_with_cache(backend, steer):
    model = backend.model
    toks = model.to_tokens(PROMPT + " " + PROMPT)
    wanted = _recordable(model.cfg.n_layers)
    steers = () if steer is None else (steer,)
    with torch.no_grad():
        fwd = steering_hooks(steers, backend.sae)
        with model.hooks(fwd_hooks=fwd):
            ref_logits, ref = model.run_with_cache(toks, names_filter=lambda n: n in wanted)
        lean = lean_forward.LeanForward(model, fwd, record=wanted)
        last = lean(toks, last_logits_only=True)
    assert set(lean.cache) == wanted
    for name in wanted:
        got, want = lean.cache[name], ref[name]
        assert got.shape == want.shape, name
        scale = max(1.0, want.abs().max().item())
        assert (got - want).abs().max().item() <= 1e-5 * scale, name
    assert last.shape == (1, 1, model.cfg.d_vocab)
    assert (last[0, -1] - ref_logits[0, -1]).abs().max().item() <= 1e-4


def test_hooks_at_every_residual_point_act_where_tl_applies_them(backend):
    """gpt2-small-res-jb SAEs read hook_resid_pre: a hook there (or at resid_mid) changes what the block reads,
    while the previous block's resid_post keeps its own value, as in TL."""
    model = backend.model
    toks = model.to_tokens(PROMPT)
    wanted = _recordable(model.cfg.n_layers)
    push = torch.linspace(-1, 1, model.cfg.d_model)
    fwd = [("blocks.1.hook_resid_pre", lambda act, hook: act + push),
           ("blocks.2.hook_resid_mid", lambda act, hook: act * 1.5)]
    with torch.no_grad():
        with model.hooks(fwd_hooks=fwd):
            ref_logits, ref = model.run_with_cache(toks, names_filter=lambda n: n in wanted)
        lean = lean_forward.LeanForward(model, fwd, record=wanted)
        logits = lean(toks)
    assert (logits - ref_logits).abs().max().item() <= 1e-4
    for name in wanted:
        scale = max(1.0, ref[name].abs().max().item())
        assert (lean.cache[name] - ref[name]).abs().max().item() <= 1e-5 * scale, name
    assert not torch.allclose(lean.cache["blocks.0.hook_resid_post"], lean.cache["blocks.1.hook_resid_pre"])


@pytest.mark.parametrize("steer", [None, FeatureSteer(SAE, 464, 1.5)])
def test_trace_is_the_same_through_either_pass(backend, monkeypatch, steer):
    req = build_request(prompt="In the beginning, God created the heavens and the earth. And God said",
                        saes=(SAE, "blocks.0.hook_resid_post"), steering=() if steer is None else (steer,))
    lean = backend.trace(req)
    monkeypatch.setattr(lean_forward, "supports", lambda *a: False)
    slow = backend.trace(req)
    for name in ("attention", "resid_pre_norm", "resid_mid_norm", "resid_post_norm", "attn_out_norm",
                 "mlp_out_norm", "resid_cosine", "resid_stack", "next_token_logprobs"):
        a, b = getattr(lean, name), getattr(slow, name)
        assert a.shape == b.shape, name
        np.testing.assert_allclose(a, b, atol=1e-4 * max(1.0, float(np.abs(b).max())), err_msg=name)
    assert lean.str_tokens == slow.str_tokens
    for sid in req.saes:
        x, y = lean.saes[sid], slow.saes[sid]
        np.testing.assert_allclose(x.top_act, y.top_act, atol=1e-4)
        active = y.top_act > 1e-3  # the same features are active (ranks of exact ties aside)
        assert (x.top_idx[active] == y.top_idx[active]).mean() > 0.99
        assert np.array_equal(x.l0, y.l0)


def test_fast_and_transformer_lens_generation_agree(backend, monkeypatch):
    req = GenerateRequest(build_request(prompt="She walked into the room and", saes=(SAE,),
                                        steering=(FeatureSteer(SAE, 5, 10.0),)), 20, temperature=0.0)
    fast = generate(backend, req)
    monkeypatch.setattr(lean_forward, "supports", lambda *a: False)
    slow = generate(backend, req)
    assert fast.tokens == slow.tokens


def test_weights_are_shared_not_copied(backend):
    """TL's W_Q/W_K/W_V are views of the fused matrix the lean pass multiplies by: one copy in memory."""
    model = backend.model
    fused = model._lean_weights.qkv[1]
    attn = model.blocks[1].attn
    assert attn.W_Q.untyped_storage().data_ptr() == fused.untyped_storage().data_ptr()
    assert attn.W_V.untyped_storage().data_ptr() == fused.untyped_storage().data_ptr()
    d, h, e = model.cfg.d_model, model.cfg.n_heads, model.cfg.d_head
    assert torch.equal(fused.view(d, 3, h, e)[:, 2].permute(1, 0, 2), attn.W_V)


def test_unsupported_models_hooks_and_records_fall_back():
    class Cfg:
        normalization_type, positional_embedding_type, attn_only, act_fn = "LNPre", "standard", False, "gelu_new"
        parallel_attn_mlp, n_key_value_heads, use_attn_scale, scale_attn_by_inverse_layer_idx, final_rms = (
            False, None, True, False, False)

    class M:
        cfg = Cfg()

    assert lean_forward.supports(M(), ["blocks.2.hook_resid_post"], ["blocks.0.attn.hook_pattern"])
    assert not lean_forward.supports(M(), ["blocks.2.attn.hook_z"])
    assert lean_forward.supports(M(), [], ["blocks.0.attn.hook_z", "hook_embed"])  # what attribution reads
    assert not lean_forward.supports(M(), [], ["blocks.0.attn.hook_q"])
    assert not lean_forward.supports(M(), [], ["blocks.0.mlp.hook_post"])
    M.cfg.attn_types = ["global", "local"]
    assert not lean_forward.supports(M(), [])
    M.cfg.attn_types = None
    M.cfg.output_logits_soft_cap = 30.0
    assert not lean_forward.supports(M(), [])
    M.cfg.output_logits_soft_cap = -1.0
    assert lean_forward.supports(M(), [])
    M.cfg.normalization_type = "RMSPre"
    assert not lean_forward.supports(M(), [])
