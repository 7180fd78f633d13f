"""Run records in the UI: save the current run as JSON, load one back (sidebar), one-click examples."""
from __future__ import annotations

import numpy as np
import streamlit as st

from components import cached, session
from interp import hub
from interp.boundary import shown
from interp.errors import BadInput, InterpError
from interp.registry import REGISTRY
from interp.run_record import RunRecord, parse

_MESSAGE = "_record_message"


def outputs(trace, steered=None, base_gen=None, steered_gen=None, top: int = 5) -> dict:
    """What the run produced, rounded so that a record is readable and compares exactly after a reload."""
    def next_tokens(t):
        idx = np.argsort(-t.next_token_logprobs)[:top]
        text = cached.str_tokens(trace.model, idx)
        return [[text[j], round(float(np.exp(t.next_token_logprobs[i])), 6)] for j, i in enumerate(idx)]

    out = {"tokens": list(trace.str_tokens), "next_token": next_tokens(trace)}
    for sid, acts in trace.saes.items():
        # BOS excluded, as on the SAE page: per_token[i] is position first_pos + i
        out["top_features"] = {"sae": sid, "first_pos": 1, "per_token": [
            [[int(f), round(float(a), 5)] for f, a in zip(acts.top_idx[p, :3], acts.top_act[p, :3]) if a > 0]
            for p in range(1, trace.n_pos)]}
    if steered is not None:
        out["steered_next_token"] = next_tokens(steered)
    if base_gen is not None:
        out["base_continuation"] = base_gen.text
    if steered_gen is not None:
        out["steered_continuation"] = steered_gen.text
    return out


def record_panel(trace, page: str, steering=(), seed=None, **produced) -> RunRecord:
    """A download button and the JSON itself (copyable) for the run on screen."""
    sae = next(iter(trace.saes), None)
    record = RunRecord(trace.model, trace.prompt, sae, page, session.view_state(), tuple(steering), seed,
                       outputs(trace, **produced))
    text = record.to_json()
    with st.expander("Run record (JSON): save this run, load it later from the sidebar"):
        st.download_button("Download run record", text, f"run-{page}.json", "application/json",
                           key=f"record_download_{page}", on_click="ignore")
        st.code(text, language="json")
    return record


def _load() -> None:
    upload = st.session_state.get("record_upload")
    if upload is None:
        return
    name = shown(upload.name)  # a file name is user text: never Markdown
    try:
        record = parse(upload.getvalue(), session.VIEW_STATE)
        if (why := hub.unavailable(REGISTRY.get(record.model))) is not None:
            raise BadInput(f"this record is for {record.model}, which is unavailable ({why}); the current view is kept.")
    except InterpError as e:
        st.session_state[_MESSAGE] = ("error", f"Could not load {name}: {e}")
        return
    session.apply({session.MODEL: record.model, session.PROMPT: record.prompt, session.SAE: record.sae,
                   "view": record.view}, record.page)
    note = f" ({'; '.join(record.notes)})" if record.notes else ""
    st.session_state[_MESSAGE] = ("success", f"Loaded {name}: {record.model}, page {record.page}{note}.")


def load_ui() -> None:
    with st.sidebar.expander("Load a run record"):
        st.file_uploader("Run record (JSON)", type=["json"], key="record_upload", on_change=_load,
                         max_upload_size=1, help="A file saved with 'Download run record'.")
    kind, text = st.session_state.pop(_MESSAGE, (None, None))
    if kind == "error":
        st.sidebar.error(text)
    elif kind == "success":
        st.sidebar.success(text)


def examples_ui(examples) -> None:
    with st.sidebar.expander("Examples", expanded=False):
        for i, ex in enumerate(examples):
            st.button(ex.title, key=f"example_{i}", help=ex.description, width="stretch",
                      on_click=session.apply, args=(ex.state, ex.page))
