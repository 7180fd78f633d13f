"""Charts for one head's inner workings: value-weighted attention, the QK split, direct logit attribution."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from interp.charts.common import token_labels
from interp.charts.compare import KIND_COLORS

DLA_COLORS = {**KIND_COLORS, "unembed_bias": "#bab0ac"}


def value_weighted_frame(trace, norms: np.ndarray, layer: int, head: int, window: tuple[int, int] | None = None) -> pd.DataFrame:
    """norms [head, q, k] (||a_ij v_j W_O||) -> one row per (query, key) cell, NaN above the diagonal, beside the
    attention weight for the tooltip. BOS is always shown: how little it sends is the point of this view."""
    n = norms.shape[-1]
    lo, hi = window or (0, n)
    keep = np.arange(lo, hi)
    labels = token_labels(trace.str_tokens)
    q, k = np.meshgrid(keep, keep, indexing="ij")
    visible = k <= q
    return pd.DataFrame({
        "query_pos": q.ravel(), "key_pos": k.ravel(),
        "query": [labels[i] for i in q.ravel()], "key": [labels[i] for i in k.ravel()],
        "sent": np.where(visible, norms[head][q, k], np.nan).ravel(),
        "weight": np.where(visible, trace.attention[layer, head][q, k], np.nan).ravel(),
    })


def value_weighted_heatmap(df: pd.DataFrame, title: str) -> alt.Chart:
    order = df.drop_duplicates("query_pos").sort_values("query_pos")["query"].tolist()
    base = alt.Chart(df).encode(
        x=alt.X("key:N", sort=order, title="key (sending token)", axis=alt.Axis(labelAngle=-60, labelOverlap=False)),
        y=alt.Y("query:N", sort=order, title="query (receiving token)", axis=alt.Axis(labelOverlap=False)),
    )
    masked = base.transform_filter("!isValid(datum.sent)").mark_rect(color="#e6e6e6")
    cells = base.transform_filter("isValid(datum.sent)").mark_rect().encode(
        color=alt.Color("sent:Q", scale=alt.Scale(scheme="oranges", domainMin=0), title="‖a·v·W_O‖"),
        tooltip=[alt.Tooltip("query:N"), alt.Tooltip("key:N"), alt.Tooltip("sent:Q", format=".3f", title="‖a·v·W_O‖"),
                 alt.Tooltip("weight:Q", format=".3f", title="attention weight")],
    )
    side = max(260, min(760, 26 * len(order)))
    return (masked + cells).properties(title=title, width=side, height=side)


def logit_bars(df: pd.DataFrame, title: str, top: int = 14) -> alt.Chart:
    """Components by |share of the logit|, the rest summed in one 'other' row so the bars still add up."""
    order = df["contribution"].abs().sort_values(ascending=False).index
    shown, rest = df.loc[order[:top]], df.loc[order[top:]]
    if len(rest):
        shown = pd.concat([shown, pd.DataFrame([{"component": f"other {len(rest)} components", "kind": "other",
                                                 "layer": -1, "contribution": rest["contribution"].sum()}])])
    kinds = [k for k in DLA_COLORS if k in set(shown["kind"])]
    return alt.Chart(shown.reset_index(drop=True)).mark_bar().encode(
        y=alt.Y("component:N", sort=None, title=None),
        x=alt.X("contribution:Q", title="share of the logit"),
        color=alt.Color("kind:N", scale=alt.Scale(domain=kinds, range=[DLA_COLORS[k] for k in kinds]), title="component"),
        tooltip=["component", "kind", alt.Tooltip("contribution:Q", format="+.4f")],
    ).properties(title=title, height=max(160, 22 * len(shown)))
