"""Attention charts: trace -> tidy DataFrame -> alt.Chart."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from interp.charts.common import token_labels


def attention_frame(trace, layer: int, head: int) -> pd.DataFrame:
    """One row per (query, key) cell; weight is NaN above the diagonal (causal mask: not applicable)."""
    pat = trace.attention[layer, head]  # [query_pos, key_pos]
    n = pat.shape[0]
    labels = token_labels(trace.str_tokens)
    q, k = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    w = np.where(k <= q, pat, np.nan)
    return pd.DataFrame({
        "query_pos": q.ravel(), "key_pos": k.ravel(),
        "query": [labels[i] for i in q.ravel()], "key": [labels[i] for i in k.ravel()],
        "weight": w.ravel(),
    })


def attention_heatmap(df: pd.DataFrame, title: str) -> alt.Chart:
    order = df.drop_duplicates("query_pos").sort_values("query_pos")["query"].tolist()
    base = alt.Chart(df).encode(
        x=alt.X("key:N", sort=order, title="key (attended-to token)", axis=alt.Axis(labelAngle=-60, labelOverlap=False)),
        y=alt.Y("query:N", sort=order, title="query (attending token)", axis=alt.Axis(labelOverlap=False)),
    )
    masked = base.transform_filter("!isValid(datum.weight)").mark_rect(color="#e6e6e6").encode(
        tooltip=[alt.Tooltip("query:N"), alt.Tooltip("key:N"), alt.Tooltip("weight:Q", title="masked (causal)")]
    )
    cells = base.transform_filter("isValid(datum.weight)").mark_rect().encode(
        color=alt.Color("weight:Q", scale=alt.Scale(scheme="blues", domain=[0, 1]), title="attention"),
        tooltip=[alt.Tooltip("query:N"), alt.Tooltip("key:N"), alt.Tooltip("weight:Q", format=".3f")],
    )
    side = max(260, min(760, 26 * len(order)))
    return (masked + cells).properties(title=title, width=side, height=side)


def head_scores_frame(scores: dict[str, np.ndarray]) -> pd.DataFrame:
    """{score: [layer, head]} -> one row per head, sorted by layer then head."""
    L, H = next(iter(scores.values())).shape
    rows = [{"head": f"L{l}H{h}", "layer": l, "head_index": h, **{k: float(v[l, h]) for k, v in scores.items()}}
            for l in range(L) for h in range(H)]
    return pd.DataFrame(rows)
