"""What every page does first: get the shared cached trace, or say clearly why there is none."""
from __future__ import annotations

import streamlit as st

from components import cached, session
from interp.errors import InterpError


def current_trace():
    """The trace for the sidebar's choices; stops the page with a clear message on failure."""
    try:
        trace = cached.trace(session.request())
    except InterpError as e:
        st.error(str(e))
        st.stop()
    for notice in trace.notices:
        st.info(notice)
    return trace
