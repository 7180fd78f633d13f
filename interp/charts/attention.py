"""Attention charts: trace -> tidy DataFrame -> alt.Chart."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from interp.charts.common import token_labels


BOS_MODES = {
    "show": "BOS shown",
    "hide": "BOS column hidden, rows renormalised over the other keys",
    "cap": "colour scale capped at the largest non-BOS weight",
}


def attention_frame(trace, layer: int, head: int, bos: str = "show", window: tuple[int, int] | None = None) -> pd.DataFrame:
    """One row per (query, key) cell; weight is NaN above the diagonal (causal mask: not applicable).
    bos="hide" drops the BOS column and renormalises each row over the remaining keys (row 0 then has no
    key left and is dropped too). window=(start, stop) keeps those positions only (queries and keys)."""
    pat = trace.attention[layer, head].astype(np.float64)  # [query_pos, key_pos]
    n = pat.shape[0]
    lo, hi = window or (0, n)
    keep = np.arange(lo, hi)
    if bos == "hide":
        pat = pat.copy()
        pat[:, 0] = 0.0
        rows = pat.sum(-1, keepdims=True)
        pat = np.divide(pat, rows, out=np.zeros_like(pat), where=rows > 0)
        keep = keep[keep > 0]
    labels = token_labels(trace.str_tokens)
    q, k = np.meshgrid(keep, keep, indexing="ij")
    w = np.where(k <= q, pat[q, k], np.nan)
    return pd.DataFrame({
        "query_pos": q.ravel(), "key_pos": k.ravel(),
        "query": [labels[i] for i in q.ravel()], "key": [labels[i] for i in k.ravel()],
        "weight": w.ravel(),
    })


def color_cap(trace, layer: int, head: int) -> float:
    """Largest weight on a non-BOS key (the BOS sink otherwise washes out the colour scale)."""
    pat = trace.attention[layer, head]
    return float(pat[1:, 1:].max()) if pat.shape[0] > 1 else 1.0


def attention_heatmap(df: pd.DataFrame, title: str, color_max: float = 1.0) -> alt.Chart:
    order = df.drop_duplicates("query_pos").sort_values("query_pos")["query"].tolist()
    side = max(260, min(760, 26 * len(order)))
    # past 32 rows an 11-px label is taller than its row: shrink the labels rather than let them overlap
    font = {"labelFontSize": max(6.0, side / len(order) - 1.5)} if len(order) > 32 else {}
    base = alt.Chart(df).encode(
        x=alt.X("key:N", sort=order, title="key (attended-to token)",
                axis=alt.Axis(labelAngle=-60, labelOverlap=False, **font)),
        y=alt.Y("query:N", sort=order, title="query (attending token)", axis=alt.Axis(labelOverlap=False, **font)),
    )
    masked = base.transform_filter("!isValid(datum.weight)").mark_rect(color="#e6e6e6").encode(
        tooltip=[alt.Tooltip("query:N"), alt.Tooltip("key:N"), alt.Tooltip("weight:Q", title="masked (causal)")]
    )
    cells = base.transform_filter("isValid(datum.weight)").mark_rect().encode(
        color=alt.Color("weight:Q", scale=alt.Scale(scheme="blues", domain=[0, color_max], clamp=True),
                        title="attention" if color_max >= 1 else f"attention (capped at {color_max:.2f})"),
        tooltip=[alt.Tooltip("query:N"), alt.Tooltip("key:N"), alt.Tooltip("weight:Q", format=".3f")],
    )
    return (masked + cells).properties(title=title, width=side, height=side)


def head_scores_frame(scores: dict[str, np.ndarray]) -> pd.DataFrame:
    """{score: [layer, head]} -> one row per head, sorted by layer then head."""
    L, H = next(iter(scores.values())).shape
    rows = [{"head": f"L{l}H{h}", "layer": l, "head_index": h, **{k: float(v[l, h]) for k, v in scores.items()}}
            for l in range(L) for h in range(H)]
    return pd.DataFrame(rows)


SCORE_TITLES = {"previous_token": "previous-token", "induction_probe": "induction (probe)", "induction": "induction (prompt)",
                "duplicate_token": "duplicate-token", "bos_sink": "BOS sink", "entropy": "entropy (nats)"}


def head_grid(df: pd.DataFrame, score: str) -> alt.Chart:
    """Layer x head summary grid of one score, values written in the cells."""
    base = alt.Chart(df).encode(x=alt.X("head_index:O", title="head"), y=alt.Y("layer:O", title="layer"))
    scheme = "purples" if score == "entropy" else "blues"
    rect = base.mark_rect().encode(color=alt.Color(f"{score}:Q", scale=alt.Scale(scheme=scheme), title=SCORE_TITLES.get(score, score)),
                                   tooltip=["head", alt.Tooltip(f"{score}:Q", format=".3f")])
    text = base.mark_text(fontSize=12).encode(text=alt.Text(f"{score}:Q", format=".2f"))
    L = df["layer"].nunique()
    return (rect + text).properties(title=f"{SCORE_TITLES.get(score, score)} score of every head", height=max(120, 44 * L))
