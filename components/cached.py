"""Caching at the edge: the backend once per model (shared by all sessions), traces keyed by plain values.

Traces are immutable (read-only numpy arrays), so one cached object can be shared by every session
without copying; st.cache_resource avoids pickling tens of MB per rerun. The backend serialises
forward passes with its own lock.
"""
from __future__ import annotations

import json

import streamlit as st

from interp.errors import InterpError
from interp.registry import REGISTRY
from interp.requests import FeatureSteer, TraceRequest


@st.cache_resource(show_spinner="Importing torch, TransformerLens and sae-lens (first start only)…")
def _heavy_imports() -> bool:
    from interp.backends import heavy_imports

    heavy_imports()
    return True


@st.cache_resource(show_spinner="Loading the model (once, shared by every session)…", max_entries=2)
def load_backend(model_name: str):
    from interp.backends import load_backend as _load

    _heavy_imports()
    return _load(model_name)


@st.cache_resource(show_spinner="Running the model…", max_entries=128, ttl=3600)
def _trace(model_name: str, prompt: str, saes: tuple[str, ...], steering: tuple[tuple, ...], top_k: int):
    request = TraceRequest(model_name, prompt, saes, tuple(FeatureSteer(*s) for s in steering), top_k)
    return load_backend(model_name).trace(request)


def trace(request: TraceRequest):
    """Cached trace for a request; raises InterpError with a user-facing sentence."""
    steering = tuple((s.sae, s.feature, s.alpha, s.mode, s.start) for s in request.steering)
    return _trace(request.model, request.prompt, request.saes, steering, request.top_k)


@st.cache_data(show_spinner=False)
def sae_labels(model_name: str, sae_id: str) -> dict:
    """Offline labels stored beside an embedded SAE ({} for hub SAEs)."""
    path = REGISTRY.get(model_name).sae(sae_id).labels_path
    if path is None or not path.exists():
        return {}
    return json.loads(path.read_text())


def safe_trace(request_fn):
    """Build and run a request; return (trace, None) or (None, message)."""
    try:
        return trace(request_fn()), None
    except InterpError as e:
        return None, str(e)
