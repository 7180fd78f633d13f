"""Dose-response chart of a steering sweep (pure pandas/altair): effect and cost per strength, working range."""
from __future__ import annotations

import altair as alt
import pandas as pd

EFFECT = ("topic mass", "feature activation (own hook)")
COST = ("KL over prompt", "loss under base model", "repetition")


def sweep_frame(sweep, unit: float) -> pd.DataFrame:
    """One row per (strength, metric); strength in the slider's unit (x unit, e.g. the max activation)."""
    rows = []
    for p in sweep.points:
        mult = p.alpha / max(unit, 1e-9)
        for name, value, panel in (("topic mass", p.topic_mass, "effect"),
                                   ("feature activation (own hook)", p.feature_act, "effect"),
                                   ("KL over prompt", p.kl_prompt, "cost"), ("loss under base model", p.loss, "cost"),
                                   ("repetition", p.repetition, "cost")):
            rows.append({"strength": round(mult, 3), "ratio": p.ratio, "metric": name, "value": value,
                         "panel": panel, "working": p.risen and p.coherent})
    return pd.DataFrame(rows)


def dose_response_chart(df: pd.DataFrame, lo: float | None, hi: float | None, title: str) -> alt.VConcatChart:
    """Two panels sharing the strength axis; the working range [lo, hi] (strength units) shaded green."""
    def panel(name: str, ytitle: str) -> alt.LayerChart:
        d = df[df["panel"] == name]
        lines = alt.Chart(d).mark_line(point=True).encode(
            x=alt.X("strength:Q", title="strength (× the slider's unit)"),
            y=alt.Y("value:Q", title=ytitle), color=alt.Color("metric:N", title=None),
            tooltip=["strength", "ratio", "metric", alt.Tooltip("value:Q", format=".3f")])
        layers = [lines]
        if lo is not None:
            band = pd.DataFrame({"lo": [lo], "hi": [hi if hi > lo else lo + 0.05]})
            layers.insert(0, alt.Chart(band).mark_rect(color="#2ca02c", opacity=0.15).encode(x="lo:Q", x2="hi:Q"))
        return alt.layer(*layers).properties(height=170)

    return alt.vconcat(panel("effect", "effect"), panel("cost", "cost")).properties(title=title)
