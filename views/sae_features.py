"""SAE features: the top latents of the selected SAE at each token, with their offline labels."""
import streamlit as st

from components.charts_ui import show
from components import cached, session
from components.page import current_trace
from interp.charts.sae import token_feature_heatmap, top_features_frame

st.title("SAE features")
trace = current_trace()
if not trace.saes:
    st.info("This model has no SAE in the registry.")
    st.stop()
sae_id = next(iter(trace.saes))
acts = trace.saes[sae_id]
labels = cached.sae_labels(trace.model, sae_id)
c1, c2, c3 = st.columns(3)
c1.metric("SAE", sae_id)
c2.metric("Mean L0 (non-BOS)", f"{acts.l0[1:].mean():.1f}" if trace.n_pos > 1 else "–")
c3.metric("Variance explained (this prompt)", f"{1 - acts.fvu:.2f}")
df = top_features_frame(trace, sae_id, labels)
st.caption("BOS is excluded, as sae-lens does when training and evaluating SAEs.")
if df.empty:
    st.info("No feature is active on this prompt.")
    st.stop()
show(token_feature_heatmap(df))
st.dataframe(df, hide_index=True, column_config={
    "activation": st.column_config.NumberColumn(format="%.3f"),
    "share": st.column_config.ProgressColumn(format="%.2f", min_value=0.0, max_value=1.0),
})
