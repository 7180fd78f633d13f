"""Attention: one head's pattern as a query x key heatmap, and head-type scores on this prompt."""
import streamlit as st

from components.page import current_trace
from interp.analysis.heads import head_scores
from interp.charts.attention import attention_frame, attention_heatmap, head_scores_frame

st.title("Attention patterns")
st.caption(
    "Each row is a query token and shows how its attention is spread over earlier tokens (rows sum to 1). "
    "Attention shows where information *can* move; it is not by itself an explanation of the output."
)
trace = current_trace()

left, right = st.columns([1, 1])
layer = left.selectbox("Layer", range(trace.n_layers), key="attn_layer")
head = right.selectbox("Head", range(trace.n_heads), key="attn_head")
st.altair_chart(attention_heatmap(attention_frame(trace, layer, head), f"L{layer}H{head}"), width="content")
st.caption("Grey cells are masked by causal attention (a token cannot attend to later tokens): not zero, not applicable.")

st.subheader("Head types on this prompt")
scores = head_scores(trace.attention, trace.tokens)
df = head_scores_frame(scores).sort_values("previous_token", ascending=False)
st.dataframe(df, hide_index=True, column_config={
    k: st.column_config.NumberColumn(format="%.3f") for k in scores})
