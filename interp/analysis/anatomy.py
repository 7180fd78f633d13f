"""One head at one query, step by step (queries, keys, scaled dot products, causal mask, softmax, values).

Recomputed from the trace's cached residual at the head's input and the layer's weights (no forward pass);
the softmax column is checked against the trace's own pattern row.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from interp.analysis.head_math import HeadWeights, cap, mask, qkv, softmax


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
    softcap: float = 0.0  # the scores' soft-cap (0: none; then the steps have a "soft-capped" column)
    window: int = 0  # local layer: a query sees its last `window` keys
    notes: tuple[str, ...] = ()  # what differs from a GPT-2 head (rotary, grouped-query, window, soft-cap, norm)
    norm_name: str = "LayerNorm"


def head_anatomy(resid: np.ndarray, pattern_row: np.ndarray, w: HeadWeights, layer: int, head: int, query: int,
                 str_tokens) -> HeadAnatomy:
    """resid [pos, d_model] = the layer's resid_pre; pattern_row [pos] = the trace's attention row of this query."""
    q, k, v = (a[head] for a in qkv(resid, w))  # each [pos, d_head] (q and k rotated on rotary models)
    n = k.shape[0]
    dots = k @ q[query]  # [pos]
    scaled = dots / w.attn_scale
    capped = cap(scaled, w)
    hidden = mask(n, n, w)[query]
    future = np.arange(n) > query
    masked = np.where(hidden, -np.inf, capped)
    a = softmax(masked)
    out = v @ w.W_O[head]  # [pos, d_model] what each key would write (before any norm after attention)
    columns = {"key_pos": np.arange(n), "key": list(str_tokens[:n]), "q·k": dots, "÷ √d_head": scaled}
    if w.softcap:
        columns["soft-capped"] = capped
    steps = pd.DataFrame({
        **columns,
        "masked": np.where(future, "masked (future)", np.where(hidden, "masked (outside window)", "")),
        "softmax": a, "trace's weight": np.asarray(pattern_row, np.float64),
        "‖v‖": np.linalg.norm(v, axis=-1), "‖a·v‖": a * np.linalg.norm(v, axis=-1),
        "‖a·v·W_O‖": a * np.linalg.norm(out, axis=-1),
    })
    z = a @ v
    return HeadAnatomy(layer=layer, head=head, query=query, d_head=q.shape[-1], attn_scale=w.attn_scale, q=q[query],
                       steps=steps, z=z, out_norm=float(np.linalg.norm(z @ w.W_O[head])),
                       pattern_error=float(np.abs(a - pattern_row).max()), softcap=w.softcap, window=w.window,
                       notes=w.notes(head), norm_name=w.norm_name)
