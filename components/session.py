"""The only module that touches st.session_state and st.query_params.

Two kinds of state, both mirrored into the URL so that a reload or a shared link restores the view:
- the run: model, prompt and SAE (sidebar);
- view settings: layer/head, token, feature, steering, toggles. Their URL name is the widget key.

Streamlit forgets a widget's value when a page that does not draw it runs, and the navigation menu drops
query params on a page switch. So every bound widget's value is also kept in a plain store that survives
page switches; bind() seeds the widget from it (or from the link) before the widget is drawn, and
sync_url() writes the store back into the URL on every run. Widgets are drawn without a default value of
their own: bind() has put the value in session_state, which avoids Streamlit's "default value but also set
via the Session State API" warning.
"""
from __future__ import annotations

from collections.abc import Callable, Container
from dataclasses import dataclass

import streamlit as st

from interp.registry import DEFAULT_MODEL, REGISTRY

MODEL, PROMPT, SAE = "model", "prompt", "sae"
_STORE, _DEFAULTS, _PENDING = "_view_state", "_view_defaults", "_pending_page"
MAX_STEERS = 3


def _bool(text: str) -> bool:
    return {"true": True, "false": False}[text.lower()]


# View settings that live in the URL: widget key -> parser for the URL's text (raises on bad input).
VIEW_STATE: dict[str, Callable[[str], object]] = {
    "attn_layer": int, "attn_head": int, "attn_bos": str, "attn_score": str, "bertviz_hide_bos": _bool,
    "resid_bos": _bool, "resid_per_pos": _bool, "resid_log": _bool, "resid_sqrt_d": _bool, "lens_pos": int,
    "sae_token": int, "sae_feature": int, "gen_n": int, "gen_temp": float, "gen_seed": int,
    "steer_where": str, "steer_start": int, "prompt2": str, "sae_view": str,
    **{f"steer_f{i}": int for i in range(MAX_STEERS)},
    **{f"steer_a{i}": float for i in range(MAX_STEERS)},
    **{f"steer_mode{i}": str for i in range(MAX_STEERS)},
}


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
    if _STORE not in st.session_state:
        store = {}
        for key, parse in VIEW_STATE.items():
            if key in st.query_params:
                try:
                    store[key] = parse(st.query_params[key])
                except (ValueError, KeyError):
                    messages.append(f"Ignored {key}={st.query_params[key]!r} in the link (not a valid value).")
        st.session_state[_STORE], st.session_state[_DEFAULTS] = store, {}
    return messages


def choice() -> Choice:
    return Choice(st.session_state[MODEL], st.session_state[PROMPT])


def set_choice(model: str, prompt: str) -> None:
    st.session_state[MODEL] = model
    st.session_state[PROMPT] = prompt


def _valid(value, valid) -> bool:
    if valid is None:
        return True
    try:
        return bool(valid(value)) if callable(valid) else value in valid
    except TypeError:
        return False


def bind(key: str, default, valid: Container | Callable[[object], bool] | None = None):
    """Put the value for widget `key` into session_state before the widget is drawn: the widget's own value
    from the last run, else the kept (or linked) value, else `default`. Values that are no longer valid
    (a layer the new model lacks, a token past the new prompt's end) fall back to `default`."""
    store, defaults = st.session_state[_STORE], st.session_state[_DEFAULTS]
    defaults[key] = default
    value = st.session_state[key] if key in st.session_state else store.get(key, default)
    if not _valid(value, valid):
        if key in store and store[key] == value and key not in st.session_state:
            st.warning(f"{key}={value!r} from the link does not fit this view; using {default!r}.")
        value = default
    st.session_state[key] = value
    store[key] = value
    return key


def sync_url() -> None:
    """Mirror the run and every kept view setting that differs from its default into the URL."""
    c = choice()
    st.query_params[MODEL] = c.model
    st.query_params[PROMPT] = c.prompt
    if st.session_state.get(SAE):
        st.query_params[SAE] = st.session_state[SAE]
    store, defaults = st.session_state.get(_STORE, {}), st.session_state.get(_DEFAULTS, {})
    for key in VIEW_STATE:
        if key in st.session_state:  # a widget drawn in the last run: its value is the current one
            store[key] = st.session_state[key]
        if key in store and (key not in defaults or store[key] != defaults[key]):
            st.query_params[key] = str(store[key])
        elif key in st.query_params:
            del st.query_params[key]


def view_state() -> dict:
    """Every view setting currently kept (for run records)."""
    sync_url()
    return {k: v for k, v in st.session_state[_STORE].items()}


def apply(state: dict, page: str | None = None) -> None:
    """Restore a run: model, prompt, SAE and view settings (from a run record or an example). Call it from a
    widget callback, before any widget is drawn; the page switch happens in app.py (pending_page)."""
    set_choice(state[MODEL], state[PROMPT])
    st.session_state["model_box"], st.session_state["prompt_box"] = state[MODEL], state[PROMPT]
    if state.get(SAE):
        st.session_state[SAE] = state[SAE]
        st.session_state["sae_box"] = state[SAE]
    store = st.session_state[_STORE]
    for key in VIEW_STATE:
        st.session_state.pop(key, None)
        store.pop(key, None)
    for key, value in state.get("view", {}).items():
        if key in VIEW_STATE:
            store[key] = value
    if page:
        st.session_state[_PENDING] = page


def open_picked_head(table_key: str, layers: list[int], heads: list[int]) -> None:
    """on_select callback of a ranked head table: the picked row becomes the open layer/head. As a callback it
    runs once per pick, so a later change of the layer/head boxes is not undone by the old selection."""
    rows = st.session_state[table_key].selection.rows
    if rows:
        st.session_state["attn_layer"], st.session_state["attn_head"] = int(layers[rows[0]]), int(heads[rows[0]])


def pop_pending_page() -> str | None:
    return st.session_state.pop(_PENDING, None)


def sae_choice(model: str) -> str | None:
    """The selected SAE for this model (defaults to a middle layer); None if the model has none."""
    spec = REGISTRY.get(model)
    ids = [s.id for s in spec.saes]
    if not ids:
        return None
    current = st.session_state.get(SAE)
    if current not in ids:
        asked = st.query_params.get(SAE) if SAE not in st.session_state else None  # the link counts once
        current = asked if asked in ids else ids[len(ids) // 2]
        if asked and asked not in ids:
            st.warning(f"Unknown SAE {asked!r} in the link for {spec.title}; showing {current} instead.")
        st.session_state[SAE] = current
    return current


def set_sae(sae_id: str) -> None:
    st.session_state[SAE] = sae_id


def request(prompt: str | None = None):
    """The TraceRequest every page shares (same request -> same cached trace -> no forward pass)."""
    from interp.requests import TraceRequest

    c = choice()
    sae = sae_choice(c.model)
    return TraceRequest(c.model, c.prompt if prompt is None else prompt, saes=(sae,) if sae else ())
