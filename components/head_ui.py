"""Attention page extras: the value-weighted heatmap mode and one head's anatomy, step by step."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from components import cached, session
from components.charts_ui import show
from interp.charts.common import token_labels
from interp.charts.head_detail import value_weighted_frame, value_weighted_heatmap
from interp.errors import InterpError

MODES = {"weight": "attention weight", "sent": "value-weighted ‖a·v·W_O‖"}


def render_value_weighted(trace, layer: int, head: int, window=None) -> None:
    try:
        norms, sent = cached.value_weighted(session.request(), layer)
    except InterpError as e:
        st.info(str(e))
        return
    show(value_weighted_heatmap(value_weighted_frame(trace, norms, layer, head, window),
                                f"L{layer}H{head} · what each key sends: ‖a_ij · v_j · W_O‖"),
         fixed_width=True, export=f"value_weighted_L{layer}H{head}")
    st.caption(
        "The attention weight a_ij says how much of key j's value vector the query takes; this map shows how large a "
        "vector actually moves into the query's residual stream: a_ij × ‖v_j W_O‖ (Kobayashi et al. 2020). They "
        "differ because value vectors differ in size: heads often park weight on BOS (an 'attention sink') whose "
        "value is small, so a heavy BOS column of weights shrinks here. " + bos_sentence(trace, sent, layer, head))


def bos_sentence(trace, sent, layer: int, head: int) -> str:
    """This head's measured BOS figures (the caption's claim, computed, not assumed)."""
    if trace.n_pos < 3:
        return ""
    w_bos = float(trace.attention[layer, head, 1:, 0].mean())
    ratio = float(sent[head, 0] / max(float(np.median(sent[head, 1:])), 1e-12))
    return (f"In L{layer}H{head}: mean weight on BOS {w_bos:.2f}; BOS sends ‖v W_O‖ = {sent[head, 0]:.2f}, "
            f"{ratio:.2f}× the median of the other keys ({float(np.median(sent[head, 1:])):.2f}).")


def render_head_anatomy(trace, layer: int, head: int) -> None:
    labels = token_labels(trace.str_tokens)
    # a toggle, not an expander: a collapsed expander's body still runs, and this one needs the model's weights
    # (a fresh session draws from the landing trace while the model loads; nothing off screen should wait for it)
    if not st.toggle(f"Head anatomy: L{layer}H{head} for one query, step by step",
                     key=session.bind("attn_anatomy", False)):
        return
    with st.container(border=True):
        query = st.selectbox("Query token", range(trace.n_pos), format_func=lambda p: labels[p],
                             key=session.bind("anat_query", trace.n_pos - 1, range(trace.n_pos)))
        try:
            an = cached.head_anatomy(session.request(), layer, head, query)
        except InterpError as e:
            st.info(str(e))
            return
        rotary = any(n.startswith("Positions enter as a rotation") for n in an.notes)
        st.markdown(
            f"1. **Query, keys, values.** Each token's residual goes through {an.norm_name}, then W_Q, W_K, W_V "
            f"(d_head = {an.d_head}): the query vector of {labels[query]} is q (first numbers below), every token "
            "has a key k_j and a value v_j." + (" q and k are then rotated by their positions (rotary)." if rotary else "")
            + "\n2. **Dot products.** q·k_j for every key: how well key j matches what the query looks for.\n"
            f"3. **Scale.** Divide by {an.attn_scale:.3f}, so the scores do not grow with the vector size.\n"
            + (f"   Then soft-cap: {an.softcap:g}·tanh(s/{an.softcap:g}) keeps every score within ±{an.softcap:g}.\n"
               if an.softcap else "")
            + "4. **Causal mask.** Keys after the query are set to −∞: a token cannot read the future."
            + (f" This is a local layer: keys more than {an.window - 1} positions back are masked too." if an.window else "")
            + "\n5. **Softmax.** exp and normalise over the visible keys: the attention weights (they sum to 1).\n"
            "6. **Weighted sum of values.** z = Σ_j a_j v_j, then W_O writes z into the residual stream."
            + (" (On this model the layer's output then passes an RMSNorm before it joins the residual; the norms "
               "below are before it.)" if any("second RMSNorm" in n for n in an.notes) else ""))
        if an.notes:
            st.caption(" ".join(an.notes))
        st.dataframe(pd.DataFrame([an.q[:16]], index=["q"], columns=[f"q[{i}]" for i in range(min(16, an.d_head))]),
                     column_config=None)
        steps = an.steps.copy()
        visible = steps["masked"] == ""
        hidden_cols = [c for c in ("÷ √d_head", "soft-capped", "softmax", "‖a·v‖", "‖a·v·W_O‖") if c in steps]
        steps.loc[~visible, hidden_cols] = float("nan")
        st.dataframe(steps, hide_index=True, column_config={
            c: st.column_config.NumberColumn(format="%.4f") for c in
            ("q·k", "÷ √d_head", "soft-capped", "softmax", "trace's weight", "‖v‖", "‖a·v‖", "‖a·v·W_O‖") if c in steps})
        st.caption(f"z = Σ a_j v_j has norm {float((an.z ** 2).sum() ** 0.5):.4f}; the head writes z·W_O of norm "
                   f"{an.out_norm:.4f} into {labels[query]}. Recomputed from the cached residual at the head's input "
                   f"(no forward pass); the softmax column matches the trace's weights to {an.pattern_error:.1e}.")
