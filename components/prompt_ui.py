"""Sidebar: model picker, prompt box, SAE picker. Returns nothing; writes choices through session."""
from __future__ import annotations

import streamlit as st

from components import session
from interp import boundary, hub
from interp.errors import BadInput
from interp.registry import REGISTRY
from interp.requests import TraceRequest


def _title(name: str, why: str | None) -> str:
    return REGISTRY.get(name).title + (" — unavailable" if why else "")


def sidebar_ui() -> None:
    current = session.choice()
    names = REGISTRY.names()
    unavailable = {n: hub.unavailable(REGISTRY.get(n)) for n in names}  # asks the hub once per process (cached)
    st.session_state.setdefault("model_box", current.model)  # session.apply() may set these from a run record
    st.session_state.setdefault("prompt_box", current.prompt)
    with st.sidebar.form("prompt_form", border=False):
        model = st.selectbox("Model", names, key="model_box", format_func=lambda n: _title(n, unavailable[n]))
        prompt = st.text_area("Prompt", height=140, key="prompt_box")
        submitted = st.form_submit_button("Run", type="primary", width="stretch", key="run")
    for name, why in unavailable.items():
        if why:
            st.sidebar.caption(f"{name}: unavailable ({why}).")
    if submitted:
        try:
            TraceRequest(model, prompt)  # validates: an empty prompt is refused, the old view stays
            if unavailable[model]:
                raise BadInput(f"{model} is unavailable ({unavailable[model]}); still showing {current.model}.")
        except BadInput as e:
            st.sidebar.error(str(e))
        else:
            session.set_choice(model, prompt)
    if len(session.choice().prompt) > boundary.MAX_LINK_PROMPT_CHARS:
        st.sidebar.caption(f"This prompt has {len(session.choice().prompt):,} characters, more than a link carries "
                           f"({boundary.MAX_LINK_PROMPT_CHARS:,}): the URL says so instead of holding it. "
                           "To share it, save a run record.")
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
