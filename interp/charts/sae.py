"""SAE feature tables and charts."""
from __future__ import annotations

import altair as alt
import pandas as pd

from interp.charts.common import token_labels


ALWAYS_ON = 0.75  # firing density on held-out text at or above which a feature is "always on" (bias-like)


def always_on(labels: dict, threshold: float = ALWAYS_ON) -> dict[int, float]:
    """Features that fire on at least `threshold` of the held-out label text: feature -> firing density.
    They top almost every token's list without saying anything about the token. {} without labels."""
    return {int(f): float(v["freq"]) for f, v in labels.items() if float(v.get("freq", 0.0)) >= threshold}


def top_features_frame(trace, sae_id: str, labels: dict | None = None, include_bos: bool = False) -> pd.DataFrame:
    """One row per (token, top feature) with activation > 0, and the feature's share of the token's total."""
    acts = trace.saes[sae_id]
    toks = token_labels(trace.str_tokens)
    labels = labels or {}
    rows = []
    for p in range(0 if include_bos else 1, trace.n_pos):
        for rank, (f, a) in enumerate(zip(acts.top_idx[p], acts.top_act[p])):
            if a <= 0:
                continue
            rows.append({"pos": p, "token": toks[p], "rank": rank + 1, "feature": int(f), "activation": float(a),
                         "share": float(a / acts.total_act[p]) if acts.total_act[p] > 0 else 0.0,
                         "label": labels.get(str(int(f)), {}).get("label", ""),
                         "density": labels.get(str(int(f)), {}).get("freq", float("nan"))})
    return pd.DataFrame(rows, columns=["pos", "token", "rank", "feature", "activation", "share", "label", "density"])


def token_feature_heatmap(df: pd.DataFrame, n_features: int = 20) -> alt.Chart:
    """Token x feature heatmap for the features with the largest total activation over the prompt."""
    top = df.groupby("feature")["activation"].sum().nlargest(n_features).index
    sub = df[df["feature"].isin(top)]
    order = df.drop_duplicates("pos").sort_values("pos")["token"].tolist()
    return alt.Chart(sub).mark_rect().encode(
        x=alt.X("token:N", sort=order, axis=alt.Axis(labelAngle=-60, labelOverlap=False)),
        y=alt.Y("feature:N", sort=list(map(int, top)), axis=alt.Axis(labelOverlap=False)),
        color=alt.Color("activation:Q", scale=alt.Scale(scheme="oranges")),
        tooltip=["token", "feature", "label", alt.Tooltip("activation:Q", format=".3f")],
    ).properties(height=max(200, 18 * len(top)))
