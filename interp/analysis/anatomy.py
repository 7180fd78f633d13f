"""One head at one query, step by step (queries, keys, scaled dot products, causal mask, softmax, values).

Recomputed from the trace's cached residual at the head's input and the layer's weights (no forward pass);
the softmax column is checked against the trace's own pattern row.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from interp.analysis.head_math import HeadWeights, qkv, softmax


@dataclass(frozen=True)
class HeadAnatomy:
    layer: int
    head: int
    query: int
    d_head: int
    attn_scale: float
    q: np.ndarray  # [d_head] the query vector
    steps: pd.DataFrame  # one row per key position (all positions; later ones are masked)
    z: np.ndarray  # [d_head] sum_j a_j v_j
    out_norm: float  # ||z W_O||
    pattern_error: float  # max |recomputed softmax - trace's pattern row|


def head_anatomy(resid: np.ndarray, pattern_row: np.ndarray, w: HeadWeights, layer: int, head: int, query: int,
                 str_tokens) -> HeadAnatomy:
    """resid [pos, d_model] = the layer's resid_pre; pattern_row [pos] = the trace's attention row of this query."""
    q, k, v = (a[head] for a in qkv(resid, w))  # each [pos, d_head]
    n = k.shape[0]
    dots = k @ q[query]  # [pos]
    scaled = dots / w.attn_scale
    visible = np.arange(n) <= query
    masked = np.where(visible, scaled, -np.inf)
    a = softmax(masked)
    out = v @ w.W_O[head]  # [pos, d_model] what each key would write
    steps = pd.DataFrame({
        "key_pos": np.arange(n), "key": list(str_tokens[:n]),
        "q·k": dots, "÷ √d_head": scaled, "masked": np.where(visible, "", "masked (future)"),
        "softmax": a, "trace's weight": np.asarray(pattern_row, np.float64),
        "‖v‖": np.linalg.norm(v, axis=-1), "‖a·v‖": a * np.linalg.norm(v, axis=-1),
        "‖a·v·W_O‖": a * np.linalg.norm(out, axis=-1),
    })
    z = a @ v
    return HeadAnatomy(layer=layer, head=head, query=query, d_head=q.shape[-1], attn_scale=w.attn_scale, q=q[query],
                       steps=steps, z=z, out_norm=float(np.linalg.norm(z @ w.W_O[head])),
                       pattern_error=float(np.abs(a - pattern_row).max()))
