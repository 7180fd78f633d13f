"""Attention maps and SAE features, side by side. Run: streamlit run app.py"""
from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="Attention & SAE explorer", page_icon="🔎", layout="wide")

from components import cached, session  # noqa: E402
from components.examples import EXAMPLES  # noqa: E402
from components.presentation import toggle_ui as presentation_toggle  # noqa: E402
from components.prompt_ui import sidebar_ui  # noqa: E402
from components.run_record_ui import examples_ui, load_ui  # noqa: E402
from interp.errors import LoadError  # noqa: E402
from interp.registry import DEFAULT_MODEL  # noqa: E402

cached.configure_remote()  # NDIF models are listed only when the operator configured a key
for message in session.init():
    st.warning(message)
cached.warm_up(session.request_or_none())  # the heavy imports start now unless this view is precomputed (interp.landing)
sidebar_ui()
presentation_toggle()
examples_ui(EXAMPLES)
load_ui()

for message in session.pop_fallback_messages():
    st.error(message)
try:  # the request as the sidebar left it (Run, an example, a record may have changed it)
    info = cached.model_info(session.choice().model, session.request_or_none())
except LoadError as e:  # never silent, and the sidebar must name the model that is loaded: rerun with it
    if session.choice().model == DEFAULT_MODEL:
        st.error(str(e))
        st.stop()
    session.fall_back(DEFAULT_MODEL, f"{e} Falling back to the embedded default model ({DEFAULT_MODEL}).")
    st.rerun()
sizes = f"{info.name} · {info.n_layers} layers · d_model {info.d_model} · {info.n_params / 1e6:.1f} M parameters"
if cached.model_ready(info.name):
    st.sidebar.caption(f"✅ Model loaded: {sizes}")
else:  # a fresh server: this prompt's trace was precomputed (interp.landing); the model loads meanwhile
    st.sidebar.caption(f"⏳ Loading the model in the background: {sizes}. This prompt's views were precomputed; "
                       "a new prompt runs as soon as it is loaded.")
session.sync_url()

PAGES = {  # url path -> page; the path is part of a shared link and of a run record
    "attention": st.Page("views/attention.py", title="Attention", icon="👀", url_path="attention", default=True),
    "residual-stream": st.Page("views/residual_stream.py", title="Residual stream", icon="📈", url_path="residual-stream"),
    "sae-features": st.Page("views/sae_features.py", title="SAE features", icon="🧩", url_path="sae-features"),
    "compare": st.Page("views/compare.py", title="Attention ↔ features", icon="🔗", url_path="compare"),
    "features": st.Page("views/features.py", title="Features", icon="🔍", url_path="features"),
    "sae-lab": st.Page("views/sae_lab.py", title="SAE lab", icon="🧪", url_path="sae-lab"),
}
nav = st.navigation(list(PAGES.values()))
pending = session.pop_pending_page()
if pending in PAGES and PAGES[pending] is not nav:
    st.switch_page(PAGES[pending])
nav.run()
cached.preload(info.name)  # after the page: a fresh session drew from the landing trace; the model loads now
