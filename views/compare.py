"""Attention <-> SAE features: which heads write a feature, a token's attention next to its features, two prompts."""
from functools import partial

import numpy as np
import pandas as pd
import streamlit as st

from components import cached, session
from components.charts_ui import show
from components.page import current_trace
from components.qk_ui import render_qk_split
from components.run_record_ui import record_panel
from interp.charts.common import token_labels
from interp.charts.sae import always_on
from interp.charts.compare import (attention_diff_frame, attention_diff_heatmap, contribution_bars, contribution_frame,
                                   feature_diff_frame, first_difference, head_diff_frame, head_diff_grid,
                                   mlps_write_nothing, source_chart, token_rows_frame, token_rows_heatmap)
from interp.errors import InterpError

st.title("Attention ↔ SAE features")
st.caption("Which attention heads write an SAE feature, and which tokens those heads read from. Token, feature, "
           "layer and head are shared with the other pages and kept in the link.")
trace = current_trace()
if not trace.saes or trace.n_pos < 2:
    st.info("This view needs an SAE and a prompt of at least one token.")
    st.stop()
sae_id = next(iter(trace.saes))
acts = trace.saes[sae_id]
labels = cached.sae_labels(trace.model, sae_id)
labels_tok = token_labels(trace.str_tokens)

c1, c2, c3, c4 = st.columns([2, 1, 1, 1])
session.bind_token("sae_token", trace.n_pos)
pos = c1.selectbox("Token", range(1, trace.n_pos), format_func=lambda p: labels_tok[p], key="sae_token")
frequent = always_on(labels)  # the default feature: the strongest at this token that is not always on
top_here = next((int(f) for f, a in zip(acts.top_idx[pos], acts.top_act[pos]) if a > 0 and int(f) not in frequent),
                int(acts.top_idx[pos, 0]))
session.bind("sae_feature", top_here, lambda f: isinstance(f, int) and 0 <= f < acts.d_sae)
feature = int(c2.number_input("Feature", 0, acts.d_sae - 1, key="sae_feature",
                              help="Defaults to the strongest feature at the chosen token that is not always on."))
session.bind("attn_layer", 0, range(trace.n_layers))
layer = c3.selectbox("Layer", range(trace.n_layers), key="attn_layer")
session.bind("attn_head", 0, range(trace.n_heads))
head = c4.selectbox("Head", range(trace.n_heads), key="attn_head")
info = labels.get(str(feature))
st.markdown(f"Feature **{feature}** of `{sae_id}`" + (f" · label `{info['label']}`" if info else "") +
            f" · token **{labels_tok[pos]}**")

VIEWS = {"heads": "Which heads write this feature", "token": "Token: attention next to features",
         "qk": "Why the head looks there (QK)", "two": "Two prompts"}
# one view at a time, kept in the link (tabs ran all four, the feature split's hooked pass included, hidden or not)
view = st.segmented_control("View", list(VIEWS), format_func=VIEWS.get, label_visibility="collapsed",
                            key=session.bind("compare_view", "heads", VIEWS),
                            on_change=session.keep_selected("compare_view")) or "heads"


if view == "heads":
    try:
        att = cached.feature_attribution(trace.model, trace.prompt, sae_id, feature, pos)
    except InterpError as e:
        st.error(str(e))
        st.stop()
    m1, m2, m3 = st.columns(3)
    m1.metric("Pre-activation (sae-lens)", f"{att.pre_activation:.4f}")
    m2.metric("Sum of the parts below", f"{att.values.sum():.4f}", f"{att.residual:+.1e}", delta_color="off")
    m3.metric("Activation (after the SAE's nonlinearity)", f"{att.activation:.4f}")
    for note in att.notes:
        st.info(note)
    if att.activation == 0:
        st.caption("The feature does not fire here (its pre-activation is below the SAE's threshold or outside its "
                   "top-k); the split still shows what pushes it up or down.")
    st.caption("The residual stream at the SAE's hook is a sum of the embeddings and every earlier head and MLP; "
               "the SAE's pre-activation is linear in it, so each component's share is its output projected on "
               "the feature's encoder direction (with the SAE's input processing). The shares add up exactly.")
    show(contribution_bars(contribution_frame(att), f"Feature {feature} at {labels_tok[pos]}: parts by component"),
         export=f"feature{feature}_pos{pos}_components")
    if mlps_write_nothing(att):
        st.caption("This model's MLPs write nothing (attention-only: their weights are zero), so they are left out.")
    ranked = att.head_frame()
    st.markdown("**Heads ranked by their share** (pick a row to open that head below)")
    st.dataframe(ranked[["component", "contribution"]], hide_index=True, selection_mode="single-row",
                 key="cmp_head_table",
                 on_select=partial(session.open_picked_head, "cmp_head_table", ranked["layer"].tolist(),
                                   ranked["head"].tolist()),
                 column_config={"contribution": st.column_config.NumberColumn(format="%+.4f")})
    n_scope = att.attention.shape[0]
    if layer >= n_scope:
        st.info(f"Layer {layer} comes after the SAE's hook ({sae_id}), so it cannot write this feature. "
                f"Pick a layer below {n_scope} (or a row above).")
    else:
        src = att.source_frame(layer, head)
        src = src[src["pos"] <= pos]
        share = float(att.values[att.names.index(f"L{layer}H{head}")]) if f"L{layer}H{head}" in att.names else float("nan")
        show(source_chart(src, f"L{layer}H{head} at {labels_tok[pos]}: where it reads from (share {share:+.4f})"),
             export=f"L{layer}H{head}_pos{pos}_sources")
        st.caption("Left: the head's attention from the chosen token. Right: each source token's part of the head's "
                   "share (attention weight × the value vector's projection on the feature); they add up to the "
                   "head's share.")
        if st.button(f"Open L{layer}H{head} on the Attention page", key="cmp_open_attention"):
            st.switch_page("views/attention.py")

elif view == "token":
    left, right = st.columns([3, 2])
    with left:
        show(token_rows_heatmap(token_rows_frame(trace, layer, pos), f"Layer {layer}: attention from {labels_tok[pos]}"),
             export=f"attention_rows_L{layer}_pos{pos}")
    with right:
        feats = pd.DataFrame({"feature": acts.top_idx[pos], "activation": acts.top_act[pos]})
        feats = feats[feats["activation"] > 0]
        feats["label"] = [labels.get(str(int(f)), {}).get("label", "") for f in feats["feature"]]
        feats["always-on"] = ["yes" if int(f) in frequent else "" for f in feats["feature"]]
        st.markdown(f"**Top features of {sae_id} at {labels_tok[pos]}**")
        st.dataframe(feats, hide_index=True, column_config={"activation": st.column_config.NumberColumn(format="%.3f")})

elif view == "two":
    session.bind("prompt2", "")
    prompt2 = st.text_area("Second prompt (B); the sidebar prompt is A", key="prompt2", height=80,
                           placeholder="e.g. the same sentence with one word changed")
    if not prompt2.strip():
        st.info("Type a second prompt to compare attention and features between the two.")
    else:
        try:
            trace_b = cached.trace(session.request(prompt2))
        except InterpError as e:
            st.error(str(e))
        else:
            n, first = min(trace.n_pos, trace_b.n_pos), first_difference(trace.str_tokens, trace_b.str_tokens)
            if trace_b.n_pos != trace.n_pos and first is not None:
                st.info(f"A has {trace.n_pos} tokens and B has {trace_b.n_pos}, and they differ from position "
                        f"{first} on: attention is compared by position over the first {n}, so after position "
                        f"{first} a cell may compare different words. Labels show both tokens where they differ.")
            elif trace_b.n_pos != trace.n_pos:
                st.info(f"A has {trace.n_pos} tokens and B has {trace_b.n_pos}: attention is compared over the first {n}.")
            show(head_diff_grid(head_diff_frame(trace, trace_b)), export="head_attention_change")
            show(attention_diff_heatmap(attention_diff_frame(trace, trace_b, layer, head),
                                        f"L{layer}H{head}: attention A - B (red: more in A)"),
                 fixed_width=True, export=f"attention_diff_L{layer}H{head}")
            fa = cached.all_feature_activations(trace.model, sae_id, acts.inputs)[1:]
            fb = cached.all_feature_activations(trace.model, sae_id, trace_b.saes[sae_id].inputs)[1:]
            diff = feature_diff_frame(fa, fb, labels)
            st.markdown(f"**Features of {sae_id} that differ most** (max over tokens, BOS excluded; and at each "
                        "prompt's last token)")
            st.dataframe(diff, hide_index=True, column_config={
                c: st.column_config.NumberColumn(format="%.3f")
                for c in ("max_a", "max_b", "difference", "last_token_a", "last_token_b")})
            st.caption(f"A: {np.count_nonzero(fa.max(0))} features fire somewhere; B: {np.count_nonzero(fb.max(0))}.")
elif view == "qk":
    render_qk_split(trace, layer, head)
record_panel(trace, "compare")
