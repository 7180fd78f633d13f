"""SAE lab charts: the loss as it trains (terms apart), true vs learned directions, cosines, the sweep."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

TERMS = {"reconstruction": "reconstruction (MSE)", "sparsity": "sparsity term"}


def loss_chart(history, sparsity_name: str = "L1 penalty") -> alt.Chart:
    """Reconstruction and sparsity terms per step, each on its own panel (their scales differ)."""
    df = pd.DataFrame(list(history))
    if df.empty:
        df = pd.DataFrame({"step": [], "reconstruction": [], "sparsity": []})
    long = df.melt(id_vars="step", value_vars=["reconstruction", "sparsity"], var_name="term", value_name="loss")
    long["term"] = long["term"].map({"reconstruction": "reconstruction (MSE)", "sparsity": sparsity_name})
    return alt.Chart(long).mark_line().encode(
        x=alt.X("step:Q"), y=alt.Y("loss:Q", title=None, scale=alt.Scale(zero=False)),
        color=alt.Color("term:N", legend=None), tooltip=["term", "step", alt.Tooltip("loss:Q", format=".4g")],
    ).properties(height=160, width=260).facet(column=alt.Column("term:N", title=None)).resolve_scale(y="independent")


def plane_chart(true_dirs: np.ndarray, names, learned_dirs: np.ndarray, fires: np.ndarray) -> alt.Chart:
    """2-D: true feature directions (grey, named) and unit learned decoder directions (coloured; dashed when dead)."""
    rows = [{"who": "true feature", "name": n, "x": float(u[0]), "y": float(u[1]), "r": 1.0}
            for n, u in zip(names, true_dirs)]
    rows += [{"who": "learned latent" if fires[j] > 0 else "dead latent", "name": f"latent {j}",
              "x": float(v[0]) * 0.85, "y": float(v[1]) * 0.85, "r": 0.85} for j, v in enumerate(learned_dirs)]
    df = pd.DataFrame(rows)
    seg = pd.concat([df.assign(x=0.0, y=0.0, end=0), df.assign(end=1)])
    color = alt.Color("who:N", scale=alt.Scale(domain=["true feature", "learned latent", "dead latent"],
                                               range=["#999999", "#e6550d", "#bbbbbb"]), title=None,
                      legend=alt.Legend(orient="bottom"))
    axis = alt.Scale(domain=[-1.2, 1.2])
    lines = alt.Chart(seg).mark_line(strokeWidth=3).encode(
        x=alt.X("x:Q", scale=axis, title=None), y=alt.Y("y:Q", scale=axis, title=None), color=color,
        detail="name:N", order="end:Q")
    tips = alt.Chart(df).mark_point(filled=True, size=60).encode(x="x:Q", y="y:Q", color=color,
                                                                 tooltip=["who", "name"])
    text = alt.Chart(df[df["who"] == "true feature"]).mark_text(dx=0, dy=-10, fontSize=13).encode(
        x=alt.X("x:Q"), y=alt.Y("y:Q"), text="name:N")
    return (lines + tips + text).properties(width=340, height=340, title="True directions and learned decoder directions")


def cosine_heatmap(cos: np.ndarray, names) -> alt.Chart:
    """[n_features, d_sae] cosine of each true direction with each learned decoder direction."""
    n, m = cos.shape
    df = pd.DataFrame({"feature": np.repeat(list(names), m), "latent": np.tile([f"L{j}" for j in range(m)], n),
                       "cosine": cos.reshape(-1)})
    base = alt.Chart(df).encode(x=alt.X("latent:N", sort=None, title="learned latent"),
                                y=alt.Y("feature:N", sort=list(names), title="true feature"))
    heat = base.mark_rect().encode(color=alt.Color("cosine:Q", scale=alt.Scale(scheme="redblue", domain=[-1, 1], reverse=True)),
                                   tooltip=["feature", "latent", alt.Tooltip("cosine:Q", format=".3f")])
    text = base.mark_text(fontSize=10).encode(text=alt.Text("cosine:Q", format=".2f"))
    return (heat + text).properties(height=max(120, 24 * n), title="Cosine: true direction vs decoder direction")


def sweep_chart(rows) -> alt.Chart:
    """The trade-off over penalty values: L0 against unexplained variance; labels are the penalties."""
    df = pd.DataFrame(list(rows))
    df["unexplained variance"] = 1 - df["explained_variance"]
    base = alt.Chart(df).encode(x=alt.X("l0:Q", title="L0 (active latents per input)"),
                                y=alt.Y("unexplained variance:Q", title="1 - explained variance"))
    pts = base.mark_line(point=True).encode(tooltip=["penalty", alt.Tooltip("l0:Q", format=".3f"),
                                                     alt.Tooltip("explained_variance:Q", format=".3f"),
                                                     "recovered"])
    return (pts + base.mark_text(dy=-10).encode(text="penalty:N")).properties(
        height=260, title="Sparsity against reconstruction, one run per penalty")
