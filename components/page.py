"""What every page does first: get the shared cached trace, or say clearly why there is none."""
from __future__ import annotations

from dataclasses import replace

import streamlit as st

from components import cached, session
from interp.errors import InterpError


def current_trace():
    """The trace for the sidebar's choices; stops the page with a clear message on failure. If only the SAE
    fails (truncated weights, a mismatched folder), the model's own trace is shown with the SAE's message:
    the attention and residual-stream views do not need the SAE, so they must not go blank."""
    request = session.request()
    try:
        trace = cached.trace(request)
    except InterpError as e:
        trace = _without_saes(request)
        st.error(str(e))
        if trace is None:
            st.stop()
        request = replace(request, saes=())
        st.caption("Shown without the SAE; the views that need it say so.")
    st.session_state["_trace_request"] = request
    for notice in trace.notices:
        st.info(notice)
    return trace


def _without_saes(request):
    if not request.saes:
        return None
    try:
        return cached.trace(replace(request, saes=()))
    except InterpError:
        return None


def current_request():
    """The request behind the page's trace (without the SAE when only the SAE failed); after current_trace()."""
    return st.session_state.get("_trace_request") or session.request()
