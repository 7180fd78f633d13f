"""Residual stream: how large the residual vector is at each layer."""
import streamlit as st

from components.page import current_trace
from interp.charts.residual import residual_heatmap, residual_heatmap_frame, residual_norm_chart, residual_norm_frame

st.title("Residual stream")
trace = current_trace()
include_bos = st.toggle("Include BOS position", value=False, key="resid_bos",
                        help="BOS residual norms are usually far larger than the rest and flatten the plot.")
df = residual_norm_frame(trace, include_bos=include_bos)
title = "Mean ‖residual‖ over positions" + ("" if include_bos else " (BOS excluded)")
st.altair_chart(residual_norm_chart(df, title))
if trace.processing.get("center_writing_weights", True):
    st.caption("TransformerLens centred the weights that write to the residual stream (center_writing_weights), "
               "so these are norms of the mean-centred residual, before the final LayerNorm.")
st.altair_chart(residual_heatmap(residual_heatmap_frame(trace), "‖residual‖ per layer and position"))
