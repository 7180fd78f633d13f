"""Drawing Altair charts in Streamlit 1.67, which ignores a chart's own height.

st.altair_chart sizes a chart by its container unless it is given a height, and rotated token labels,
titles and legends then squeeze the plot area of a heatmap to a line. Every view draws through show(),
which passes the builder's height plus room for axes and title.
"""
from __future__ import annotations

import altair as alt
import streamlit as st

AXES_ROOM = 150  # rotated token labels, axis titles, chart title


def show(chart, *, fixed_width: bool = False, key: str | None = None):
    height = getattr(chart, "height", alt.Undefined)
    kwargs = {"height": int(height) + AXES_ROOM} if isinstance(height, (int, float)) else {}
    if fixed_width:
        kwargs["width"] = "content"
    return st.altair_chart(chart, key=key, **kwargs)
