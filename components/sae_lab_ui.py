"""SAE lab widgets: the toy's features, the training controls, and the results panels (draw only)."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from components import session
from interp.sae_lab.config import ARCHS, MAX_LATENTS, MAX_STEPS, REAL_DEFAULT, TOY_DEFAULT, LabConfig
from interp.sae_lab.toy import MAX_FEATURES, NAMES, ToyConfig

LRS = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)
DEFAULTS = {"toy": TOY_DEFAULT, "real": REAL_DEFAULT}  # tests/test_sae_lab.py and the bench use the same


def toy_ui() -> ToyConfig:
    """Features, dimensions, and each feature's frequency and importance (an editable table)."""
    a, b = st.columns(2)
    n = a.slider("True features", 3, MAX_FEATURES, key=session.bind("lab_n", 6, range(3, MAX_FEATURES + 1)))
    d = b.slider("Dimensions", 2, n - 1, key=session.bind("lab_d", 2, range(2, n)))
    table = pd.DataFrame({"feature": NAMES[:n], "frequency": [0.05] * n, "importance": [1.0] * n})
    edited = st.data_editor(table, key=f"lab_features_{n}", hide_index=True, disabled=["feature"], column_config={
        "frequency": st.column_config.NumberColumn(min_value=0.0001, max_value=1.0, step=0.01, format="%.4f",
                                                   help="probability that the feature is on in an input"),
        "importance": st.column_config.NumberColumn(min_value=0.01, max_value=10.0, step=0.1, format="%.2f",
                                                    help="its size when on: importance × U(0, 1)")})
    return ToyConfig(n, d, tuple(float(x) for x in edited["frequency"].fillna(0.05)),
                     tuple(float(x) for x in edited["importance"].fillna(1.0)))


def train_ui(preset: str) -> LabConfig:
    """The training controls for one preset (each preset keeps its own values)."""
    c = DEFAULTS[preset]
    arch0, d0, l10, k0, steps0, lr0 = c.arch, c.d_sae, c.l1, c.k, c.steps, c.lr
    p = f"lab_{preset}_"
    c1, c2, c3 = st.columns(3)
    arch = c1.radio("Sparsity", ARCHS, horizontal=True, key=session.bind(p + "arch", arch0, ARCHS),
                    format_func=lambda a: {"standard": "L1 penalty (ReLU)", "topk": "TopK"}[a])
    d_sae = c2.number_input("Latents", 1, MAX_LATENTS, key=session.bind(p + "latents", d0, range(1, MAX_LATENTS + 1)))
    if arch == "standard":
        l1 = c3.number_input("L1 coefficient", 0.0, 100.0, step=0.05, format="%.3f",
                             key=session.bind(p + "l1", l10, lambda v: isinstance(v, float) and 0 <= v <= 100))
        k = min(k0, int(d_sae))
    else:
        l1 = l10
        k = c3.number_input("k (active latents)", 1, int(d_sae),
                            key=session.bind(p + "k", min(k0, int(d_sae)), range(1, int(d_sae) + 1)))
    c4, c5, c6 = st.columns(3)
    steps = c4.number_input("Steps", 10, MAX_STEPS, step=100, key=session.bind(p + "steps", steps0, range(10, MAX_STEPS + 1)))
    lr = c5.select_slider("Learning rate", LRS, key=session.bind(p + "lr", lr0, LRS), format_func=lambda v: f"{v:g}")
    seed = c6.number_input("Seed", 0, 10_000, key=session.bind(p + "seed", 0, range(0, 10_001)))
    return LabConfig(arch, int(d_sae), float(l1), int(k), int(steps), float(lr), c.batch, int(seed))


def metrics_row(m: dict, extra: dict | None = None) -> None:
    cols = st.columns(3 + len(extra or {}))
    cols[0].metric("L0 (active latents per input)", f"{m['l0']:.2f}")
    cols[1].metric("Explained variance", f"{m['explained_variance']:.3f}")
    cols[2].metric("Dead latents", f"{m['dead']} of {len(m['fires'])}")
    for col, (label, value) in zip(cols[3:], (extra or {}).items()):
        col.metric(label, value)


def recovery_tables(r: dict, names) -> None:
    """Which latent recovered each true feature, and what each latent points at."""
    left, right = st.columns(2)
    rec = pd.DataFrame([{"true feature": names[x["feature"]], "best latent": x["latent"], "cosine": x["cosine"],
                         "recovered (≥ 0.9)": "yes" if x["cosine"] >= 0.9 else "no"} for x in r["recovery"]])
    left.markdown("**Each true feature: its closest learned latent**")
    left.dataframe(rec, hide_index=True, column_config={"cosine": st.column_config.NumberColumn(format="%.3f")})
    lat = pd.DataFrame([{"latent": x["latent"], "points at": names[x["feature"]], "cosine": x["cosine"],
                         "fires on": x["fires"]} for x in r["latents"]])
    right.markdown("**Each latent: the true feature it points at**")
    right.dataframe(lat, hide_index=True, column_config={
        "cosine": st.column_config.NumberColumn(format="%.3f"),
        "fires on": st.column_config.NumberColumn(format="%.3f", help="share of inputs where it is active (0 = dead)")})
