"""Residual-stream charts: norms by depth, per-block write norms, direction change, logit lens."""
from __future__ import annotations

import math

import altair as alt
import numpy as np
import pandas as pd

from interp.charts.common import readable, token_labels


def _positions(trace, include_bos: bool) -> range:
    start = 0 if include_bos or trace.n_pos == 1 else 1
    return range(start, trace.n_pos)


def residual_norm_frame(trace, include_bos: bool = False, per_sqrt_d: bool = False) -> pd.DataFrame:
    """One row per (residual hook, position): depth 0, 0.5, 1, ... = resid_pre(0), resid_mid(0), resid_pre(1), ...;
    the last depth is the final resid_post, read before the final LayerNorm."""
    scale = 1.0 / math.sqrt(trace.d_model) if per_sqrt_d and trace.d_model else 1.0
    labels = token_labels(trace.str_tokens)
    L = trace.n_layers
    stages = []
    for l in range(L):
        stages.append((float(l), f"blocks.{l}.hook_resid_pre", trace.resid_pre_norm[l]))
        stages.append((l + 0.5, f"blocks.{l}.hook_resid_mid", trace.resid_mid_norm[l]))
    stages.append((float(L), f"blocks.{L - 1}.hook_resid_post", trace.resid_post_norm[L - 1]))
    rows = [{"depth": d, "hook": h, "pos": p, "token": labels[p], "norm": float(arr[p] * scale)}
            for d, h, arr in stages for p in _positions(trace, include_bos)]
    return pd.DataFrame(rows)


def residual_norm_chart(df: pd.DataFrame, title: str, per_position: bool = False, log_scale: bool = False,
                        y_title: str = "‖residual‖") -> alt.Chart:
    scale = alt.Scale(type="log") if log_scale else alt.Scale(zero=False)
    x = alt.X("depth:Q", title="depth in layers (x.5 = after attention, before MLP)", axis=alt.Axis(tickMinStep=0.5))
    if per_position:
        order = df.drop_duplicates("pos").sort_values("pos")["token"].tolist()
        chart = alt.Chart(df).mark_line(point=True, strokeWidth=1).encode(
            x=x, y=alt.Y("norm:Q", scale=scale, title=y_title),
            color=alt.Color("token:N", sort=order, legend=alt.Legend(columns=2, symbolLimit=40)),
            tooltip=["hook", "token", alt.Tooltip("norm:Q", format=".3f")])
    else:
        mean = df.groupby(["depth", "hook"], as_index=False)["norm"].mean()
        chart = alt.Chart(mean).mark_line(point=True).encode(
            x=x, y=alt.Y("norm:Q", scale=scale, title=f"mean {y_title} over positions"),
            tooltip=["hook", alt.Tooltip("norm:Q", format=".3f")])
    final = df["depth"].max()
    rule = alt.Chart(pd.DataFrame({"depth": [final], "text": ["final LayerNorm is applied after this point"]}))
    marks = rule.mark_rule(strokeDash=[4, 4], color="gray").encode(x="depth:Q") + rule.mark_text(
        align="right", dx=-4, dy=-120, color="gray").encode(x="depth:Q", text="text:N")
    return (chart + marks).properties(title=title, height=340)


def residual_heatmap_frame(trace) -> pd.DataFrame:
    labels = token_labels(trace.str_tokens)
    L = trace.n_layers
    norms = np.concatenate([trace.resid_pre_norm, trace.resid_post_norm[-1:]])  # [L+1, pos]
    names = [f"pre {l}" for l in range(L)] + [f"post {L - 1}"]
    return pd.DataFrame([{"stage": names[s], "stage_idx": s, "token": labels[p], "pos": p, "norm": float(norms[s, p])}
                         for s in range(L + 1) for p in range(trace.n_pos)])


def residual_heatmap(df: pd.DataFrame, title: str, value: str = "norm", scheme: str = "viridis",
                     log: bool = True) -> alt.Chart:
    order = df.drop_duplicates("pos").sort_values("pos")["token"].tolist()
    stages = df.drop_duplicates("stage_idx").sort_values("stage_idx")["stage"].tolist()
    return alt.Chart(df).mark_rect().encode(
        x=alt.X("token:N", sort=order, axis=alt.Axis(labelAngle=-60, labelOverlap=False)),
        y=alt.Y("stage:N", sort=stages, title="residual hook"),
        color=alt.Color(f"{value}:Q", scale=alt.Scale(scheme=scheme, type="log" if log else "linear"),
                        title=value + (" (log colour)" if log else "")),
        tooltip=["stage", "token", alt.Tooltip(f"{value}:Q", format=".3f")],
    ).properties(title=title, height=max(120, 36 * len(stages)), width=max(300, min(1100, 34 * len(order))))


def block_writes_frame(trace, include_bos: bool = False) -> pd.DataFrame:
    """Mean norm of what each attention block and each MLP writes into the residual stream."""
    pos = list(_positions(trace, include_bos))
    rows = []
    for l in range(trace.n_layers):
        rows.append({"layer": l, "component": "attention out", "norm": float(trace.attn_out_norm[l, pos].mean())})
        rows.append({"layer": l, "component": "MLP out", "norm": float(trace.mlp_out_norm[l, pos].mean())})
    return pd.DataFrame(rows)


def block_writes_chart(df: pd.DataFrame) -> alt.Chart:
    return alt.Chart(df).mark_bar().encode(
        x=alt.X("layer:O"), xOffset="component:N", y=alt.Y("norm:Q", title="mean ‖output‖"),
        color="component:N", tooltip=["layer", "component", alt.Tooltip("norm:Q", format=".3f")],
    ).properties(title="What each block writes (mean norm over positions)", height=280)


def cosine_frame(trace) -> pd.DataFrame:
    labels = token_labels(trace.str_tokens)
    return pd.DataFrame([{"stage": f"block {l}", "stage_idx": l, "token": labels[p], "pos": p,
                          "cosine": float(trace.resid_cosine[l, p])}
                         for l in range(trace.n_layers) for p in range(trace.n_pos)])


def logit_lens_frame(trace, lens) -> pd.DataFrame:
    """Top-1 logit-lens token and probability at every (residual hook, position)."""
    labels = token_labels(trace.str_tokens)
    L = trace.n_layers
    names = [f"pre {l}" for l in range(L)] + [f"post {L - 1} (final)"]
    return pd.DataFrame([{"stage": names[s], "stage_idx": s, "token": labels[p], "pos": p,
                          "top1": readable(lens.token_strings[int(lens.top_idx[s, p, 0])]),
                          "prob": float(lens.top_prob[s, p, 0])}
                         for s in range(L + 1) for p in range(trace.n_pos)])


def logit_lens_chart(df: pd.DataFrame) -> alt.Chart:
    order = df.drop_duplicates("pos").sort_values("pos")["token"].tolist()
    stages = df.drop_duplicates("stage_idx").sort_values("stage_idx")["stage"].tolist()
    base = alt.Chart(df).encode(
        x=alt.X("token:N", sort=order, title="position (predicting the next token)",
                axis=alt.Axis(labelAngle=-60, labelOverlap=False)),
        y=alt.Y("stage:N", sort=stages, title="read from"))
    rect = base.mark_rect().encode(color=alt.Color("prob:Q", scale=alt.Scale(scheme="greens", domain=[0, 1]),
                                                   title="top-1 prob"),
                                   tooltip=["stage", "token", "top1", alt.Tooltip("prob:Q", format=".3f")])
    text = base.mark_text(fontSize=10, angle=0).encode(
        text="top1:N", color=alt.condition("datum.prob > 0.5", alt.value("white"), alt.value("black")))
    return (rect + text).properties(title="Logit lens: top-1 next token", height=max(140, 40 * len(stages)),
                                    width=max(300, min(1400, 64 * len(order))))


def logit_lens_position_frame(trace, lens, pos: int) -> pd.DataFrame:
    """Top-k tokens per layer at one position."""
    L = trace.n_layers
    names = [f"pre {l}" for l in range(L)] + [f"post {L - 1} (final)"]
    return pd.DataFrame([{"read from": names[s], "rank": r + 1,
                          "token": readable(lens.token_strings[int(lens.top_idx[s, pos, r])]),
                          "prob": float(lens.top_prob[s, pos, r])}
                         for s in range(L + 1) for r in range(lens.top_idx.shape[-1])])


def lens_echoes_input(trace, lens) -> float:
    """Fraction of positions where the lens at "pre 0" (the embeddings alone) predicts the input token itself."""
    top = lens.top_idx[0, :, 0]  # [pos]
    return float(sum(lens.token_strings[int(t)] == s for t, s in zip(top, trace.str_tokens)) / trace.n_pos)
