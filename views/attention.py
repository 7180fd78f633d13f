"""Attention: one head's pattern as a query x key heatmap, and head-type scores on this prompt."""
import streamlit as st

from components.charts_ui import show
from components.page import current_trace
from interp.analysis.heads import head_scores
from interp.charts.attention import attention_frame, attention_heatmap, head_scores_frame
from interp.charts.bertviz_view import BertvizUnavailable, head_view_html, model_view_html

st.title("Attention patterns")
st.caption(
    "Each row is a query token and shows how its attention is spread over earlier tokens (rows sum to 1). "
    "Attention shows where information *can* move; it is not by itself an explanation of the output."
)
trace = current_trace()

left, right = st.columns([1, 1])
layer = left.selectbox("Layer", range(trace.n_layers), key="attn_layer")
head = right.selectbox("Head", range(trace.n_heads), key="attn_head")
show(attention_heatmap(attention_frame(trace, layer, head), f"L{layer}H{head}"), fixed_width=True)
st.caption("Grey cells are masked by causal attention (a token cannot attend to later tokens): not zero, not applicable.")

st.subheader("Head types on this prompt")
scores = head_scores(trace.attention, trace.tokens)
df = head_scores_frame(scores).sort_values("previous_token", ascending=False)
st.dataframe(df, hide_index=True, column_config={
    k: st.column_config.NumberColumn(format="%.3f") for k in scores})

st.subheader("bertviz")
st.caption(
    "bertviz's views of the same attention, drawn in your browser without any network: hover a token to see "
    "what it attends to (left) or what attends to it (right); click a head's colour box to show or hide it. "
    "The model view has one thumbnail per layer and head; click one to enlarge it. Weights are rounded to 3 decimals."
)
hide_bos = st.toggle("Hide BOS in bertviz", key="bertviz_hide_bos",
                     help="Drops the BOS row and column. The other weights are not renormalised, so rows no longer sum to 1.")
dark = st.context.theme.type != "light"
for tab, name, build in zip(
        st.tabs(["bertviz head view", "bertviz model view"]),
        ("bertviz head view", "bertviz model view"),
        (lambda: head_view_html(trace, layer, include_bos=not hide_bos, dark=dark),
         lambda: model_view_html(trace, focus_layer=layer, include_bos=not hide_bos, dark=dark))):
    with tab:
        try:
            view = build()
        except BertvizUnavailable as e:
            st.warning(str(e))
            continue
        for note in view.notes:
            st.info(note)
        st.iframe(view.html, height=min(view.height, 760), alt=name)
        st.caption(f"Layer{'s' if len(view.layers) > 1 else ''} {', '.join(map(str, view.layers))}; "
                   f"{view.n_bytes / 1e6:.2f} MB sent to the browser.")
