"""build_x(**overrides) helpers: small hand-made objects for testing pure maths without a model."""
from __future__ import annotations

import numpy as np

from interp.trace import Trace


def build_trace(n_layers: int = 2, n_heads: int = 2, tokens=("<|endoftext|>", "A", " b", " A", " b"), **overrides) -> Trace:
    n = len(tokens)
    rng = np.random.default_rng(0)
    att = np.tril(rng.random((n_layers, n_heads, n, n)))
    att /= att.sum(-1, keepdims=True)
    ramp = np.arange(1, n_layers + 1, dtype=float)[:, None] * np.ones((1, n))
    fields = dict(
        model="hand-made", prompt="".join(tokens[1:]), tokens=np.arange(n), str_tokens=tuple(tokens),
        attention=att.astype(np.float32),
        resid_pre_norm=ramp, resid_mid_norm=ramp + 0.5, resid_post_norm=ramp + 1.0,
        next_token_logprobs=np.log(np.full(8, 1 / 8, dtype=np.float32)),
        attn_out_norm=np.ones((n_layers, n)), mlp_out_norm=2 * np.ones((n_layers, n)),
        resid_cosine=np.full((n_layers, n), 0.5),
        resid_stack=np.ones((n_layers + 1, n, 16), dtype=np.float32), d_model=16,
    )
    fields.update(overrides)
    return Trace(**fields)
