"""Owns the run and view state in st.session_state and st.query_params (the only writer of query_params).
Two widgets' own keys are also read where they are drawn: the sidebar boxes (prompt_ui) and the record
uploader and its message (run_record_ui).

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

from interp import boundary, hub
from interp.errors import BadInput, InterpError
from interp.registry import DEFAULT_MODEL, REGISTRY

MODEL, PROMPT, SAE = "model", "prompt", "sae"
_STORE, _DEFAULTS, _PENDING, _FROM_LINK = "_view_state", "_view_defaults", "_pending_page", "_from_link"
_TOKEN_FOR = "_token_for"  # token widget key -> the (model, prompt) its value was picked on
MAX_STEERS = 3

# View settings that live in the URL: widget key -> typed parser with its documented range (interp.boundary).
VIEW_STATE: dict[str, Callable[[object], object]] = boundary.FIELDS


@dataclass(frozen=True)
class Choice:
    model: str
    prompt: str


def init() -> list[str]:
    """Seed state from the URL once per session. Returns messages about URL values that were ignored."""
    if _STORE in st.session_state and MODEL in st.session_state and PROMPT in st.session_state:
        return []
    try:
        link = boundary.read_link(st.query_params.to_dict())
    except BadInput as e:
        link = boundary.Link(messages=(str(e),))
    messages = list(link.messages)
    if MODEL not in st.session_state:
        model = link.model or DEFAULT_MODEL
        if (why := hub.unavailable(REGISTRY.get(model))) is not None:
            messages.append(f"The link asks for {model}, which is unavailable ({why}); showing {DEFAULT_MODEL}.")
            model = DEFAULT_MODEL
        st.session_state[MODEL] = model
    if PROMPT not in st.session_state:
        st.session_state[PROMPT] = link.prompt or REGISTRY.get(st.session_state[MODEL]).default_prompt
    if _STORE not in st.session_state:
        st.session_state[_STORE], st.session_state[_DEFAULTS] = dict(link.view), {}
        st.session_state[_FROM_LINK] = {k for k, _ in link.view}
        run = (st.session_state[MODEL], st.session_state[PROMPT])  # the link's positions belong to its prompt
        st.session_state[_TOKEN_FOR] = {k: run for k in ("sae_token", "lens_pos") if k in st.session_state[_STORE]}
    return messages


def fall_back(model: str, message: str) -> None:
    """The chosen model could not be loaded: choose `model` instead, with the sidebar's box too (it is reset,
    so the next run draws it with the loaded model), and keep `message` for the next run to show."""
    st.session_state[MODEL] = model
    st.session_state.pop("model_box", None)
    st.session_state.setdefault("_fallback_messages", []).append(message)


def pop_fallback_messages() -> list[str]:
    return st.session_state.pop("_fallback_messages", [])


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


def bind(key: str, default, valid: Container | Callable[[object], bool] | None = None,
         why: Callable[[object], str | None] | None = None):
    """Put the value for widget `key` into session_state before the widget is drawn: the widget's own value
    from the last run, else the kept (or linked) value, else `default`. Values that are no longer valid
    (a layer the new model lacks, a token past the new prompt's end) fall back to the kept value, else to
    `default`. why(value) -> the sentence to show when a value is refused (None: refuse silently, unless
    the value came from a link or a run record, which is always said)."""
    store, defaults = st.session_state[_STORE], st.session_state[_DEFAULTS]
    from_link = st.session_state.setdefault(_FROM_LINK, set())
    defaults[key] = default
    value = st.session_state[key] if key in st.session_state else store.get(key, default)
    if not _valid(value, valid):
        reason = why(value) if why else None
        linked = key in from_link and key not in st.session_state and store.get(key) == value
        kept = st.session_state.setdefault("_last_good", {}).get(key, default)  # the view before this value
        fallback = kept if kept != value and _valid(kept, valid) else default
        if linked and reason:
            st.warning(f"{reason.rstrip('.')} (from the link or run record); using {boundary.shown(fallback)}.")
        elif linked:
            st.warning(f"{key}={boundary.shown(value)} from the link or run record does not fit this view; "
                       f"using {boundary.shown(fallback)}.")
        elif reason:
            st.warning(f"{reason} Using {boundary.shown(fallback)}.")
        value = fallback
    from_link.discard(key)
    st.session_state.setdefault("_last_good", {})[key] = value
    st.session_state[key] = value
    store[key] = value
    return key


def bind_token(key: str, n_pos: int, first: int = 1):
    """bind() for a token position: the last token by default, and again after a new prompt (a position kept
    from the old prompt would point at an arbitrary token of the new one), unless the link or a run record
    named a position together with this prompt and it fits."""
    c = choice()
    run = (c.model, c.prompt)
    owners = st.session_state.setdefault(_TOKEN_FOR, {})
    if owners.get(key, run) != run:  # a new prompt (or model) since this token was picked
        st.session_state.pop(key, None)
        st.session_state[_STORE].pop(key, None)
    owners[key] = run
    return bind(key, n_pos - 1, range(first, n_pos))


def keep_selected(key: str):
    """on_change for a segmented control drawn with bind(): clicking the selected option again would leave
    none selected; keep the one that was. Call it just before drawing the widget."""
    last = f"_last_{key}"
    st.session_state[last] = st.session_state.get(key)

    def keep():
        if st.session_state.get(key) is None:
            st.session_state[key] = st.session_state[last]
    return keep


def sync_url() -> None:
    """Mirror the run and every kept view setting that differs from its default into the URL."""
    c = choice()
    st.query_params[MODEL] = c.model
    if len(c.prompt) <= boundary.MAX_LINK_PROMPT_CHARS:
        st.query_params[PROMPT] = c.prompt
        st.query_params.pop(boundary.PROMPT_CHARS, None)
    else:  # a long prompt would make a URL the server refuses: the link says so, the run record carries it
        st.query_params.pop(PROMPT, None)
        st.query_params[boundary.PROMPT_CHARS] = str(len(c.prompt))
    if st.session_state.get(SAE):
        st.query_params[SAE] = st.session_state[SAE]
    store, defaults = st.session_state.get(_STORE, {}), st.session_state.get(_DEFAULTS, {})
    for key in VIEW_STATE:
        if key in st.session_state:  # a widget drawn in the last run: its value is the current one
            store[key] = st.session_state[key]
        text = str(store.get(key, ""))
        if key in store and (key not in defaults or store[key] != defaults[key]) and len(text) <= boundary.MAX_LINK_PROMPT_CHARS:
            st.query_params[key] = text
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
    st.session_state.pop(_TOKEN_FOR, None)  # the record's token positions belong to its prompt
    for key in VIEW_STATE:
        st.session_state.pop(key, None)
        store.pop(key, None)
    from_link = st.session_state.setdefault(_FROM_LINK, set())
    for key, value in state.get("view", {}).items():
        if key in VIEW_STATE:
            store[key] = value
            from_link.add(key)
    if page:
        st.session_state[_PENDING] = page


def open_picked_head(table_key: str, layers: list[int], heads: list[int]) -> None:
    """on_select callback of a ranked head table: the picked row becomes the open layer/head. As a callback it
    runs once per pick, so a later change of the layer/head boxes is not undone by the old selection."""
    rows = st.session_state[table_key].selection.rows
    if rows:
        st.session_state["attn_layer"], st.session_state["attn_head"] = int(layers[rows[0]]), int(heads[rows[0]])


def open_feature(sae_id: str, feature: int, page: str | None = None) -> None:
    """Callback of a feature link (search hit, similar or lineage feature): open it in the feature view, on
    `page` (a url path of app.PAGES) when the link is on another page. The values are checked again by bind()."""
    st.session_state["feat_sae"], st.session_state["feat_id"] = str(sae_id), int(feature)
    st.session_state["feat_pane"] = "Feature"
    if page:
        store = st.session_state[_STORE]  # the Features page's widgets are not drawn here: keep the values
        store.update(feat_sae=str(sae_id), feat_id=int(feature), feat_pane="Feature")
        st.session_state[_PENDING] = page


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
            st.warning(f"Unknown SAE {boundary.shown(asked)} in the link for {spec.title}; showing {current} instead.")
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


def request_or_none():
    """request(), or None where the current prompt is one the pages refuse (with their own message)."""
    try:
        return request()
    except InterpError:
        return None


def lab_state() -> dict:
    """The SAE lab's runs in this session, by preset (not in the URL: trained weights are no link's business)."""
    return st.session_state.setdefault("_sae_lab", {})
