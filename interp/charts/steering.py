"""Base vs steered comparisons: next-token distribution and per-token KL."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from interp.charts.common import readable, token_labels


def next_token_comparison(base_logprobs: np.ndarray, steered_logprobs: np.ndarray, token_str, k: int = 10) -> pd.DataFrame:
    """Union of the base and steered top-k tokens, with both probabilities and the change."""
    pb, ps = np.exp(base_logprobs), np.exp(steered_logprobs)
    ids = list(dict.fromkeys(list(np.argsort(-ps)[:k]) + list(np.argsort(-pb)[:k])))
    df = pd.DataFrame({"token": [readable(token_str(int(i))) for i in ids], "base": pb[ids], "steered": ps[ids]})
    df["change"] = df["steered"] - df["base"]
    return df.sort_values("steered", ascending=False, ignore_index=True)


def kl_chart(str_tokens, kl: np.ndarray) -> alt.Chart:
    df = pd.DataFrame({"pos": range(len(kl)), "token": token_labels(str_tokens), "kl": kl})
    return alt.Chart(df).mark_bar().encode(
        x=alt.X("token:N", sort=list(df["token"]), title="steered continuation", axis=alt.Axis(labelAngle=-60)),
        y=alt.Y("kl:Q", title="KL(steered ‖ base), nats"),
        tooltip=["token", alt.Tooltip("kl:Q", format=".3f")],
    ).properties(height=200)


def feature_activation_chart(str_tokens, acts: np.ndarray, feature: int, include_bos: bool = False) -> alt.Chart:
    """One bar per token; BOS left out by default (as sae-lens does, and as the SAE page says)."""
    start = 0 if include_bos or len(acts) < 2 else 1
    df = pd.DataFrame({"token": token_labels(str_tokens)[start:], "activation": acts[start:]})
    return alt.Chart(df).mark_bar(color="#e6550d").encode(
        x=alt.X("token:N", sort=list(df["token"]), axis=alt.Axis(labelAngle=-60, labelOverlap=False)),
        y=alt.Y("activation:Q"), tooltip=["token", alt.Tooltip("activation:Q", format=".3f")],
    ).properties(title=f"feature {feature} on every token" + ("" if start == 0 else " (BOS excluded)"), height=200)
