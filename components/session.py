"""The only module that touches st.session_state and st.query_params.

The user's choices (model, prompt) live in session_state and are mirrored into the URL, so a reload
or a shared link restores them. Query params are dropped by the navigation menu on a page switch, so
they are written again on every run.
"""
from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from interp.registry import DEFAULT_MODEL, REGISTRY

MODEL, PROMPT = "model", "prompt"


@dataclass(frozen=True)
class Choice:
    model: str
    prompt: str


def init() -> list[str]:
    """Seed state from the URL once per session. Returns messages about URL values that were ignored."""
    messages = []
    if MODEL not in st.session_state:
        model = st.query_params.get(MODEL, DEFAULT_MODEL)
        if model not in REGISTRY.models:
            messages.append(f"Unknown model {model!r} in the link; showing {DEFAULT_MODEL} instead.")
            model = DEFAULT_MODEL
        st.session_state[MODEL] = model
    if PROMPT not in st.session_state:
        st.session_state[PROMPT] = st.query_params.get(PROMPT) or REGISTRY.get(st.session_state[MODEL]).default_prompt
    return messages


def choice() -> Choice:
    return Choice(st.session_state[MODEL], st.session_state[PROMPT])


def set_choice(model: str, prompt: str) -> None:
    st.session_state[MODEL] = model
    st.session_state[PROMPT] = prompt


def sync_url() -> None:
    c = choice()
    st.query_params[MODEL] = c.model
    st.query_params[PROMPT] = c.prompt
    if st.session_state.get(SAE):
        st.query_params[SAE] = st.session_state[SAE]



SAE = "sae"


def sae_choice(model: str) -> str | None:
    """The selected SAE for this model (defaults to a middle layer); None if the model has none."""
    spec = REGISTRY.get(model)
    ids = [s.id for s in spec.saes]
    if not ids:
        return None
    current = st.session_state.get(SAE)
    if current not in ids:
        asked = st.query_params.get(SAE)
        current = asked if asked in ids else ids[len(ids) // 2]
        if asked and asked not in ids:
            st.warning(f"Unknown SAE {asked!r} in the link for {spec.title}; showing {current} instead.")
        st.session_state[SAE] = current
    return current


def set_sae(sae_id: str) -> None:
    st.session_state[SAE] = sae_id


def request():
    """The TraceRequest every page shares (same request -> same cached trace -> no forward pass)."""
    from interp.requests import TraceRequest

    c = choice()
    sae = sae_choice(c.model)
    return TraceRequest(c.model, c.prompt, saes=(sae,) if sae else ())
