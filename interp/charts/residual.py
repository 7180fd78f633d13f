"""Residual-stream norm charts."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from interp.charts.common import token_labels


def residual_norm_frame(trace, include_bos: bool = False) -> pd.DataFrame:
    """Mean norm over positions at each residual hook, ordered by depth (pre l, mid l, post l)."""
    start = 0 if include_bos else 1
    if trace.n_pos <= start:
        start = 0
    rows = []
    for l in range(trace.n_layers):
        for stage, arr, depth in (("resid_pre", trace.resid_pre_norm, l), ("resid_mid", trace.resid_mid_norm, l + 0.5),
                                  ("resid_post", trace.resid_post_norm, l + 1)):
            if stage == "resid_post" and l < trace.n_layers - 1:
                continue  # resid_post(l) == resid_pre(l + 1): drawn once
            rows.append({"depth": depth, "hook": f"blocks.{l}.hook_{stage}", "stage": stage,
                         "mean_norm": float(np.mean(arr[l, start:]))})
    return pd.DataFrame(rows)


def residual_norm_chart(df: pd.DataFrame, title: str) -> alt.Chart:
    return alt.Chart(df).mark_line(point=True).encode(
        x=alt.X("depth:Q", title="depth (layers; .5 = after attention)"),
        y=alt.Y("mean_norm:Q", title="mean ‖residual‖"),
        tooltip=["hook", alt.Tooltip("mean_norm:Q", format=".2f")],
    ).properties(title=title, height=300)


def residual_heatmap_frame(trace) -> pd.DataFrame:
    labels = token_labels(trace.str_tokens)
    L = trace.n_layers
    norms = np.concatenate([trace.resid_pre_norm, trace.resid_post_norm[-1:]])  # [L+1, pos]
    names = [f"pre {l}" for l in range(L)] + [f"post {L - 1}"]
    return pd.DataFrame([{"stage": names[s], "stage_idx": s, "token": labels[p], "pos": p, "norm": float(norms[s, p])}
                         for s in range(L + 1) for p in range(trace.n_pos)])


def residual_heatmap(df: pd.DataFrame, title: str) -> alt.Chart:
    order = df.drop_duplicates("pos").sort_values("pos")["token"].tolist()
    stages = df.drop_duplicates("stage_idx").sort_values("stage_idx")["stage"].tolist()
    return alt.Chart(df).mark_rect().encode(
        x=alt.X("token:N", sort=order, axis=alt.Axis(labelAngle=-60)),
        y=alt.Y("stage:N", sort=stages, title="residual hook"),
        color=alt.Color("norm:Q", scale=alt.Scale(scheme="viridis", type="log"), title="‖x‖ (log colour)"),
        tooltip=["stage", "token", alt.Tooltip("norm:Q", format=".2f")],
    ).properties(title=title, height=40 * len(stages))
