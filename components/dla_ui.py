"""Direct logit attribution on the residual page: which heads and MLPs push a token's logit up or down."""
from __future__ import annotations

import streamlit as st

from components import cached, session
from components.charts_ui import show
from interp.charts.common import token_labels
from interp.charts.head_detail import logit_bars
from interp.errors import InterpError


def render_dla(trace) -> None:
    st.subheader("Direct logit attribution")
    labels = token_labels(trace.str_tokens)
    c1, c2 = st.columns(2)
    pos = c1.selectbox("Position", range(trace.n_pos), format_func=lambda p: labels[p],
                       key=session.bind("dla_pos", trace.n_pos - 1, range(trace.n_pos)))
    request = session.request()
    try:
        choices = cached.token_choices(request, pos)
    except InterpError as e:
        st.info(str(e))
        return
    ids = [c[0] for c in choices]
    text = {i: f"{t!r} (logit {v:.2f})" + (" · actual next token" if pos + 1 < trace.n_pos and i == int(trace.tokens[pos + 1])
                                             else "") for i, t, v in choices}
    session.bind("dla_token", ids[0], ids)
    token = c2.selectbox("Token", ids, format_func=text.get, key="dla_token",
                         help="The model's top 10 next tokens at this position, and the prompt's actual next token.")
    try:
        att = cached.logit_attribution(request, pos, token)
    except InterpError as e:
        st.info(str(e))
        return
    if trace.steering:
        st.info("Steering is on: what a steering hook adds after a block is counted in that block's MLP row (or "
                "'not attributed' where there is no MLP), since it is part of what changed the residual there.")
    m1, m2 = st.columns(2)
    m1.metric("Logit" if att.capped is None else "Logit before the soft-cap", f"{att.logit:.4f}",
              None if att.capped is None else f"model's output (capped): {att.capped:.4f}", delta_color="off")
    m2.metric("Sum of the parts", f"{att.values.sum():.4f}", f"{att.residual:+.1e}", delta_color="off")
    show(logit_bars(att.frame(), f"Logit of {text[token].split(' (')[0]} after {labels[pos]}: shares by component"),
         export=f"dla_pos{pos}_tok{token}")
    how = ("centred and divided by σ" if att.norm_name == "LayerNorm"
           else "divided by the RMS and multiplied by the norm's weight")
    st.caption(
        f"The final residual is the sum of the embeddings, every head, every attention bias and every MLP. The final "
        f"{att.norm_name}'s scale is frozen at its actual value here ({'σ' if att.norm_name == 'LayerNorm' else 'rms'}"
        f" = {att.final_scale:.3f}), so the logit is linear in the residual and each component's share is its output, "
        f"{how}, times the token's unembedding column; with the unembedding bias the shares add up to the logit. "
        + (f"The model soft-caps its logits, {att.softcap:g}·tanh(logit/{att.softcap:g}): monotone, not linear, so "
           "the shares split the logit before the cap. Each head's share is what it writes through the RMSNorm after "
           "attention, with that norm's scale frozen too. " if att.capped is not None else "")
        + "'Direct' means only what reaches the output straight through the residual stream, not through later layers.")
