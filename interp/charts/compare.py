"""Charts that link attention and SAE features: component shares of a feature, source tokens of a head,
one token's attention rows, and differences between two prompts."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from interp.charts.common import token_labels

KIND_COLORS = {"head": "#4c78a8", "mlp": "#f58518", "embed": "#54a24b", "pos_embed": "#88d27a",
               "attn_bias": "#9d755d", "attn": "#72b7b2", "sae_bias": "#bab0ac", "rest": "#e45756", "other": "#d8d8d8"}


def mlps_write_nothing(attribution) -> bool:
    """True when every MLP's part is exactly 0 (tiny-induction: attention-only, its MLP weights are zero)."""
    df = attribution.frame()
    mlp = df["kind"] == "mlp"
    return bool(mlp.any() and (df.loc[mlp, "contribution"] == 0).all())


def contribution_frame(attribution, top: int = 12) -> pd.DataFrame:
    """The `top` components by |contribution|, the rest summed into one 'other' row (so the bars still add up).
    MLPs that write exactly nothing are left out (the view says so)."""
    df = attribution.frame()
    if mlps_write_nothing(attribution):
        df = df[df["kind"] != "mlp"].reset_index(drop=True)
    order = df["contribution"].abs().sort_values(ascending=False).index
    shown, rest = df.loc[order[:top]], df.loc[order[top:]]
    if len(rest):
        shown = pd.concat([shown, pd.DataFrame([{"component": f"other {len(rest)} components", "kind": "other",
                                                 "layer": -1, "head": -1, "contribution": rest["contribution"].sum()}])])
    return shown.reset_index(drop=True)


def contribution_bars(df: pd.DataFrame, title: str) -> alt.Chart:
    kinds = [k for k in KIND_COLORS if k in set(df["kind"])]  # the legend lists only what is drawn
    return alt.Chart(df).mark_bar().encode(
        y=alt.Y("component:N", sort=None, title=None),
        x=alt.X("contribution:Q", title="contribution to the pre-activation (they add up to it)"),
        color=alt.Color("kind:N", scale=alt.Scale(domain=kinds, range=[KIND_COLORS[k] for k in kinds]),
                        title="component"),
        tooltip=["component", "kind", alt.Tooltip("contribution:Q", format="+.4f")],
    ).properties(title=title, height=max(160, 22 * len(df)))


def source_chart(df: pd.DataFrame, title: str) -> alt.Chart:
    """Per source token: the head's attention weight and that source's share of the feature (two panels)."""
    labels = token_labels(df["token"].tolist())
    data = df.assign(source=labels)
    base = alt.Chart(data).encode(y=alt.Y("source:N", sort=labels, title="source token (key)"))
    att = base.mark_bar(color="#4c78a8").encode(x=alt.X("attention:Q", title="attention weight",
                                                          scale=alt.Scale(domain=[0, 1])),
                                                tooltip=["source", alt.Tooltip("attention:Q", format=".3f")])
    con = base.mark_bar().encode(
        x=alt.X("contribution:Q", title="contribution to the feature's pre-activation"),
        color=alt.condition("datum.contribution >= 0", alt.value("#54a24b"), alt.value("#e45756")),
        tooltip=["source", alt.Tooltip("contribution:Q", format="+.4f")])
    height = max(120, 20 * len(data))
    return alt.hconcat(att.properties(width=220, height=height), con.properties(width=260, height=height)).properties(
        title=title)


def token_rows_frame(trace, layer: int, pos: int) -> pd.DataFrame:
    """Attention of the token at `pos` over earlier tokens, every head of one layer."""
    labels = token_labels(trace.str_tokens)
    rows = trace.attention[layer, :, pos, : pos + 1]  # [head, key_pos]
    return pd.DataFrame([{"head": f"H{h}", "key_pos": k, "key": labels[k], "weight": float(rows[h, k])}
                         for h in range(rows.shape[0]) for k in range(rows.shape[1])])


def token_rows_heatmap(df: pd.DataFrame, title: str) -> alt.Chart:
    order = df.drop_duplicates("key_pos").sort_values("key_pos")["key"].tolist()
    return alt.Chart(df).mark_rect().encode(
        x=alt.X("key:N", sort=order, title="key (attended-to token)", axis=alt.Axis(labelAngle=-60, labelOverlap=False)),
        y=alt.Y("head:N", title="head"),
        color=alt.Color("weight:Q", scale=alt.Scale(scheme="blues", domain=[0, 1]), title="attention"),
        tooltip=["head", "key", alt.Tooltip("weight:Q", format=".3f")],
    ).properties(title=title, height=max(100, 30 * df["head"].nunique()))


def attention_diff_frame(trace_a, trace_b, layer: int, head: int) -> pd.DataFrame:
    """A - B for one head over the positions both prompts have (compared by position index)."""
    n = min(trace_a.n_pos, trace_b.n_pos)
    a = trace_a.attention[layer, head, :n, :n].astype(np.float64)
    b = trace_b.attention[layer, head, :n, :n].astype(np.float64)
    la, lb = token_labels(trace_a.str_tokens), token_labels(trace_b.str_tokens)
    q, k = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    keep = (k <= q).ravel()
    both = [x if x == y else f"{x} | {y.split(':', 1)[1]}" for x, y in zip(la[:n], lb[:n])]  # "3:␣Darcy | ␣Bingley"
    return pd.DataFrame({
        "query": [both[i] for i in q.ravel()], "key": [both[i] for i in k.ravel()],
        "query_pos": q.ravel(), "key_pos": k.ravel(), "query_a": [la[i] for i in q.ravel()],
        "query_b": [lb[i] for i in q.ravel()], "key_a": [la[i] for i in k.ravel()], "key_b": [lb[i] for i in k.ravel()],
        "weight_a": a.ravel(), "weight_b": b.ravel(), "difference": (a - b).ravel(),
    })[keep].reset_index(drop=True)


def first_difference(str_a, str_b) -> int | None:
    """The first position whose tokens differ (None if one prompt's tokens are a prefix of the other's)."""
    return next((i for i, (a, b) in enumerate(zip(str_a, str_b)) if a != b), None)


def attention_diff_heatmap(df: pd.DataFrame, title: str) -> alt.Chart:
    """Labelled by token ("pos:A-token | B-token" where the prompts differ), never by bare position."""
    m = float(max(df["difference"].abs().max(), 1e-6)) if len(df) else 1.0
    order = df.drop_duplicates("query_pos").sort_values("query_pos")["query"].tolist()
    side = max(260, min(760, 26 * len(order)))
    return alt.Chart(df).mark_rect().encode(
        x=alt.X("key:N", sort=order, title="key (A | B where they differ)",
                axis=alt.Axis(labelAngle=-60, labelOverlap=False)),
        y=alt.Y("query:N", sort=order, title="query (A | B where they differ)", axis=alt.Axis(labelOverlap=False)),
        color=alt.Color("difference:Q", scale=alt.Scale(scheme="redblue", domain=[-m, m], reverse=True),
                        title="A - B"),
        tooltip=["query_a", "query_b", "key_a", "key_b", alt.Tooltip("weight_a:Q", format=".3f"),
                 alt.Tooltip("weight_b:Q", format=".3f"), alt.Tooltip("difference:Q", format="+.3f")],
    ).properties(title=title, width=side, height=side)


def head_diff_frame(trace_a, trace_b) -> pd.DataFrame:
    """Mean |A - B| attention per head over the shared positions: which heads the edit moved."""
    n = min(trace_a.n_pos, trace_b.n_pos)
    d = np.abs(trace_a.attention[:, :, :n, :n].astype(np.float64) - trace_b.attention[:, :, :n, :n]).sum(-1).mean(-1) / 2
    L, H = d.shape
    return pd.DataFrame([{"head": f"L{l}H{h}", "layer": l, "head_index": h, "mean_abs_change": float(d[l, h])}
                         for l in range(L) for h in range(H)])


def head_diff_grid(df: pd.DataFrame) -> alt.Chart:
    base = alt.Chart(df).encode(x=alt.X("head_index:O", title="head"), y=alt.Y("layer:O", title="layer"))
    rect = base.mark_rect().encode(color=alt.Color("mean_abs_change:Q", scale=alt.Scale(scheme="oranges"),
                                                   title="total variation"),
                                   tooltip=["head", alt.Tooltip("mean_abs_change:Q", format=".3f")])
    text = base.mark_text(fontSize=12).encode(text=alt.Text("mean_abs_change:Q", format=".2f"))
    return (rect + text).properties(title="How much each head's attention moved (mean total variation, A vs B)",
                                    height=max(120, 44 * df["layer"].nunique()))


def feature_diff_frame(acts_a: np.ndarray, acts_b: np.ndarray, labels: dict, top: int = 20) -> pd.DataFrame:
    """acts_*: [pos, d_sae] full SAE activations (BOS excluded by the caller). Features ranked by |max A - max B|."""
    max_a, max_b = acts_a.max(0), acts_b.max(0)
    last_a, last_b = acts_a[-1], acts_b[-1]
    diff = max_a - max_b
    idx = [int(i) for i in np.argsort(-np.abs(diff))[:top] if max_a[i] > 0 or max_b[i] > 0]
    return pd.DataFrame({
        "feature": idx, "label": [labels.get(str(i), {}).get("label", "") for i in idx],
        "max_a": max_a[idx], "max_b": max_b[idx], "difference": diff[idx],
        "last_token_a": last_a[idx], "last_token_b": last_b[idx],
    })
