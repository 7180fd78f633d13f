"""Residual-stream maths on hand-made traces, and the logit lens against the real model's own logits."""
import math

import numpy as np
import torch

from interp.charts import residual as rc
from tests.conftest import build_request
from tests.factories import build_trace


def test_norm_frame_orders_hooks_by_depth_and_drops_bos():
    t = build_trace(n_layers=2)
    df = rc.residual_norm_frame(t)
    assert 0 not in set(df["pos"])  # BOS excluded by default
    depths = df.drop_duplicates("depth")[["depth", "hook"]].values.tolist()
    assert depths == [[0.0, "blocks.0.hook_resid_pre"], [0.5, "blocks.0.hook_resid_mid"],
                      [1.0, "blocks.1.hook_resid_pre"], [1.5, "blocks.1.hook_resid_mid"],
                      [2.0, "blocks.1.hook_resid_post"]]
    # resid_pre(1) is layer row 1 of the ramp (value 2); resid_post(1) is 2 + 1
    assert df[df.depth == 1.0]["norm"].unique().tolist() == [2.0]
    assert df[df.depth == 2.0]["norm"].unique().tolist() == [3.0]
    assert 0 in set(rc.residual_norm_frame(t, include_bos=True)["pos"])


def test_divide_by_sqrt_d_model():
    t = build_trace()
    a, b = rc.residual_norm_frame(t), rc.residual_norm_frame(t, per_sqrt_d=True)
    np.testing.assert_allclose(b["norm"], a["norm"] / math.sqrt(16))


def test_block_writes_and_cosine_frames():
    t = build_trace(n_layers=3)
    w = rc.block_writes_frame(t)
    assert w.groupby("component")["norm"].mean().to_dict() == {"MLP out": 2.0, "attention out": 1.0}
    c = rc.cosine_frame(t)
    assert len(c) == 3 * t.n_pos and set(c["cosine"]) == {0.5}


def test_logit_lens_last_layer_equals_model_logits(backend):
    trace = backend.trace(build_request(prompt="And God said, let there be light, and there was light."))
    tokens = torch.from_numpy(trace.tokens.copy())[None]
    logits, cache = backend.model.run_with_cache(tokens)
    last = f"blocks.{trace.n_layers - 1}.hook_resid_post"
    with torch.no_grad():
        lens = backend.logit_lens_logits(cache[last])
    assert (lens - logits).abs().max().item() <= 1e-4
    top = torch.softmax(logits[0], -1).topk(5, dim=-1)
    passes = backend.forward_passes
    lens_top = backend.logit_lens(trace)
    assert backend.forward_passes == passes  # the lens reads the kept residuals, it runs no forward pass
    np.testing.assert_allclose(lens_top.top_prob[-1], top.values.detach().numpy(), atol=1e-5)
    np.testing.assert_array_equal(lens_top.top_idx[-1], top.indices.numpy())
    assert lens_top.top_idx.shape == (trace.n_layers + 1, trace.n_pos, 5)
    assert all(isinstance(lens_top.token_strings[int(i)], str) for i in np.unique(lens_top.top_idx))


def test_residual_cosine_matches_the_cache(backend):
    trace = backend.trace(build_request())
    _, cache = backend.model.run_with_cache(torch.from_numpy(trace.tokens.copy())[None])
    a, b = cache["blocks.1.hook_resid_pre"][0], cache["blocks.1.hook_resid_post"][0]
    np.testing.assert_allclose(trace.resid_cosine[1], torch.cosine_similarity(a, b, dim=-1).numpy(), atol=1e-5)
    np.testing.assert_allclose(trace.attn_out_norm[2], cache["blocks.2.hook_attn_out"][0].norm(dim=-1).numpy(), rtol=1e-5)
