"""Residual stream: how big the residual vector is at each layer, what each block writes, what it 'says'."""
import streamlit as st

from components import cached, session
from components.charts_ui import show
from components.dla_ui import render_dla
from components.page import current_request, current_trace
from components.run_record_ui import record_panel
from interp.charts import residual as rc
from interp.charts.common import token_labels

st.title("Residual stream")
st.caption("All numbers come from the cached trace: switching to this page runs no forward pass.")
trace = current_trace()

c1, c2, c3, c4 = st.columns(4)
include_bos = c1.toggle("Include BOS", key=session.bind("resid_bos", False),
                        help="The BOS position's residual is usually far larger than the rest and flattens the plot.")
per_position = c2.toggle("One line per position", key=session.bind("resid_per_pos", False))
log_scale = c3.toggle("Log scale", key=session.bind("resid_log", False))
per_sqrt_d = c4.toggle("Divide by √d_model", key=session.bind("resid_sqrt_d", False),
                       help=f"√d_model = {trace.d_model ** 0.5:.1f}; a vector of unit-size entries then has norm 1.")

df = rc.residual_norm_frame(trace, include_bos=include_bos, per_sqrt_d=per_sqrt_d)
title = "‖residual‖ by depth" + ("" if include_bos else " (BOS excluded)") + (" / √d_model" if per_sqrt_d else "")
show(rc.residual_norm_chart(df, title, per_position=per_position, log_scale=log_scale,
                                       y_title="‖residual‖ / √d" if per_sqrt_d else "‖residual‖"), export="residual_norms")
if trace.processing.get("center_writing_weights", True):
    st.caption("TransformerLens centred the weights that write to the residual stream (center_writing_weights): "
               "these are norms of the mean-centred residual, before the final LayerNorm.")
st.download_button("Download the norms at every position (CSV)", df.to_csv(index=False), "residual_norms.csv", "text/csv",
                   key="resid_csv", on_click="ignore")

show(rc.residual_heatmap(rc.residual_heatmap_frame(trace), "‖residual‖ per layer and position"),
     fixed_width=True, export="residual_heatmap")

st.subheader("What each block writes")
writes = rc.block_writes_frame(trace, include_bos=include_bos)
show(rc.block_writes_chart(writes), export="block_writes")
st.caption("Norms of hook_attn_out and hook_mlp_out: how much each block adds, which explains the growth above "
           "(the norms of sums are not sums of norms).")

st.subheader("How much each block turns the residual")
show(rc.residual_heatmap(rc.cosine_frame(trace), "cos(residual before block, residual after block)",
                                    value="cosine", scheme="redblue", log=False), fixed_width=True,
     export="block_cosine")

st.subheader("Logit lens")
st.caption("Each layer's residual is passed through the final LayerNorm (with its own scale) and the unembedding: "
           "what the model would predict if it stopped there. The last row is the model's actual output.")
logit_lens = cached.logit_lens(current_request())
lens = rc.logit_lens_frame(trace, logit_lens)
show(rc.logit_lens_chart(lens), fixed_width=True, export="logit_lens")
echo = rc.lens_echoes_input(trace, logit_lens)
if echo > 0.5:
    st.caption(f"Row pre 0 predicts the input token itself at {100 * echo:.0f} % of positions. That is not a "
               "prediction: pre 0 is the token's embedding alone, and with tied embeddings (the unembedding is the "
               "embedding matrix transposed, as in GPT-2 and both embedded models) an embedding scores highest on "
               "its own token.")
labels = token_labels(trace.str_tokens)
pos = st.selectbox("Position", range(trace.n_pos), format_func=lambda p: labels[p],
                   key=session.bind_token("lens_pos", trace.n_pos, first=0))
st.dataframe(rc.logit_lens_position_frame(trace, logit_lens, pos), hide_index=True,
             column_config={"prob": st.column_config.ProgressColumn(format="%.3f", min_value=0.0, max_value=1.0)})
render_dla(trace)
record_panel(trace, "residual-stream")
