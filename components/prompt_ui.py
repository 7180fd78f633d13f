"""Sidebar: model picker, prompt box, SAE picker. Returns nothing; writes choices through session."""
from __future__ import annotations

import streamlit as st

from components import session
from interp.errors import BadInput
from interp.registry import REGISTRY
from interp.requests import TraceRequest


def sidebar_ui() -> None:
    current = session.choice()
    names = REGISTRY.names()
    st.session_state.setdefault("model_box", current.model)  # session.apply() may set these from a run record
    st.session_state.setdefault("prompt_box", current.prompt)
    with st.sidebar.form("prompt_form", border=False):
        model = st.selectbox("Model", names, key="model_box", format_func=lambda n: REGISTRY.get(n).title)
        prompt = st.text_area("Prompt", height=140, key="prompt_box")
        submitted = st.form_submit_button("Run", type="primary", width="stretch", key="run")
    if submitted:
        try:
            TraceRequest(model, prompt)  # validates: an empty prompt is refused, the old view stays
        except BadInput as e:
            st.sidebar.error(str(e))
        else:
            session.set_choice(model, prompt)
    spec = REGISTRY.get(session.choice().model)
    sae = session.sae_choice(spec.name)
    if sae is not None:
        ids = [s.id for s in spec.saes]
        if st.session_state.get("sae_box") not in ids:
            st.session_state["sae_box"] = sae
        picked = st.sidebar.selectbox("SAE", ids, key="sae_box",
                                      help="Residual-stream SAE read on every page.")
        if picked != sae:
            session.set_sae(picked)
    st.sidebar.caption(spec.description)
