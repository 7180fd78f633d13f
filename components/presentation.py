"""Presentation mode: charts readable at the back of a room. A sidebar toggle, kept in the URL as
presentation=true, that show() (components/charts_ui.py) reads for every chart it draws:
- token labels and axis titles at >= 16 px, chart titles at 22 px;
- heatmaps (drawn with fixed_width=True) fill the main column and are as tall as a 1080-px screen allows;
- long attention windows shrink (WINDOW_POSITIONS) so that one row of 16-px labels per token still fits.
"""
from __future__ import annotations

import streamlit as st

from components import session

KEY = "presentation"
LABEL_PX, TITLE_PX, CHART_TITLE_PX = 16, 18, 22
HEATMAP_HEIGHT = 640  # px: a heatmap plus its labels and title within a 1920x1080 screen's main column
WINDOW_POSITIONS = 32  # 640 px / 32 rows = 20 px per row: room for a 16-px label on every row


def toggle_ui() -> None:
    st.sidebar.toggle("Presentation mode", key=session.bind(KEY, False),
                      help="Large labels and full-width charts for a projector. Kept in the link.")


def on() -> bool:
    return bool(st.session_state.get(KEY, False))


def style(chart, *, heatmap: bool):
    """Large fonts; a heatmap stretched to the container's width and HEATMAP_HEIGHT high."""
    if heatmap:
        chart = chart.properties(width="container", height=HEATMAP_HEIGHT)
    ink = "#fafafa" if st.context.theme.type == "dark" else "#262730"  # the theme's text, not its light grey
    return (chart.configure_axis(labelFontSize=LABEL_PX, titleFontSize=TITLE_PX, labelLimit=260, labelColor=ink,
                                 titleColor=ink)
            .configure_legend(labelFontSize=LABEL_PX, titleFontSize=LABEL_PX, orient="top")  # width to the plot
            .configure_title(fontSize=CHART_TITLE_PX))
