"""Drawing Altair charts in Streamlit 1.67, with exports.

st.altair_chart sizes a chart by its container unless it is given a height, and rotated token labels,
titles and legends then squeeze the plot area of a heatmap to a line. Every view draws through show(),
which passes the builder's height plus room for axes and title.

Streamlit 1.67's chart toolbar offers PNG only (the vega-embed menu with SVG is gone), so show() adds an
Export menu: the chart's numbers as CSV, and PNG/SVG rendered on the server by vl-convert (offline, no
browser). The images are made only when the user clicks (deferred download data).
"""
from __future__ import annotations

import textwrap

import altair as alt
import pandas as pd
import streamlit as st

from components import presentation

AXES_ROOM = 150  # rotated token labels, axis titles, chart title


def wrap_title(chart, width):
    """Split a long title over lines that fit the chart's width (Vega clips a title wider than its chart)."""
    title = getattr(chart, "title", alt.Undefined)
    if isinstance(title, str) and isinstance(width, (int, float)) and len(title) * 7 > width:
        # still one string (what the tests and exports read), broken into lines at "\n" by Vega
        lines = "\n".join(textwrap.wrap(title, max(20, int(width) // 7)))
        return chart.properties(title=lines).configure(lineBreak="\n")
    return chart


def show(chart, *, fixed_width: bool = False, key: str | None = None, export: str | None = None):
    """Draw `chart`; with export="name", add CSV/PNG/SVG downloads named name.csv/.png/.svg. fixed_width marks a
    heatmap: its own size normally, the main column's width in presentation mode."""
    chart = wrap_title(chart, getattr(chart, "width", alt.Undefined))
    if presentation.on():
        chart = presentation.style(chart, heatmap=fixed_width)
        fixed_width = False
    height = getattr(chart, "height", alt.Undefined)
    kwargs = {"height": int(height) + AXES_ROOM} if isinstance(height, (int, float)) else {}
    if fixed_width:
        kwargs["width"] = "content"
    out = st.altair_chart(chart, key=key, **kwargs)
    if export:
        export_menu(chart, export)
    return out


def chart_data(chart) -> pd.DataFrame | None:
    """The DataFrame a chart draws (top level, or its first layer / concatenated panel)."""
    data = getattr(chart, "data", alt.Undefined)
    if isinstance(data, pd.DataFrame):
        return data
    for part in (getattr(chart, "layer", None) or getattr(chart, "hconcat", None) or []):
        found = chart_data(part)
        if found is not None:
            return found
    return None


def chart_image(chart, fmt: str) -> bytes:
    import vl_convert as vlc

    spec = chart.to_json()
    return vlc.vegalite_to_png(spec, scale=2) if fmt == "png" else vlc.vegalite_to_svg(spec).encode()


def export_menu(chart, name: str) -> None:
    data = chart_data(chart)
    with st.popover("Export", icon=":material/download:"):
        if data is not None:
            st.download_button("Numbers (CSV)", data.to_csv(index=False), f"{name}.csv", "text/csv",
                               key=f"export_{name}_csv", on_click="ignore")
        st.download_button("Image (PNG)", lambda: chart_image(chart, "png"), f"{name}.png", "image/png",
                           key=f"export_{name}_png", on_click="ignore")
        st.download_button("Image (SVG)", lambda: chart_image(chart, "svg"), f"{name}.svg", "image/svg+xml",
                           key=f"export_{name}_svg", on_click="ignore")
