"""Caching at the edge: the backend once per model (shared by all sessions), traces keyed by plain values.

Traces are immutable (read-only numpy arrays), so one cached object can be shared by every session
without copying; st.cache_resource avoids pickling tens of MB per rerun. The backend serialises
forward passes with its own lock.
"""
from __future__ import annotations

import json
import os

import streamlit as st

from interp.lru import BoundedLRU
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


TRACE_CACHE_MB = float(os.environ.get("INTERP_TRACE_CACHE_MB", "128"))  # operators can raise it


@st.cache_resource
def trace_cache() -> BoundedLRU:
    """Traces shared by every session, bounded by bytes and an hour's age: a trace's size depends on the model
    and the prompt, and 128 gpt2-small traces at 256 tokens would be 5 GB, far past a Community Cloud
    instance (st.cache_resource bounds only the number of entries)."""
    return BoundedLRU(TRACE_CACHE_MB * 2**20, ttl_s=3600.0)


def _key(request: TraceRequest) -> tuple:
    """A request as plain values (model, prompt, saes, steering, top_k, max_tokens): the cache key."""
    return request.model, request.prompt, request.saes, _steer_key(request), request.top_k, request.max_tokens


def _request(model, prompt, saes, steering, top_k, max_tokens) -> TraceRequest:
    """The inverse of _key."""
    return TraceRequest(model, prompt, saes, tuple(FeatureSteer(*s) for s in steering), top_k, max_tokens)


def trace(request: TraceRequest):
    """Cached trace for a request; raises InterpError with a user-facing sentence."""
    def compute():
        with st.spinner("Running the model…"):
            return load_backend(request.model).trace(request)

    return trace_cache().get(_key(request), compute)


@st.cache_resource(show_spinner="Reading every layer through the unembedding (logit lens)…", max_entries=16, ttl=3600)
def _logit_lens(*key):
    return load_backend(key[0]).logit_lens(trace(_request(*key)))


def logit_lens(request: TraceRequest):
    """The logit lens of a request's trace, computed the first time a page asks (no forward pass)."""
    return _logit_lens(*_key(request))


@st.cache_data(show_spinner=False)
def sae_labels(model_name: str, sae_id: str) -> dict:
    """Offline labels stored beside an embedded SAE ({} for hub SAEs)."""
    path = REGISTRY.get(model_name).sae(sae_id).labels_path
    if path is None or not path.exists():
        return {}
    return json.loads(path.read_text())



def _steer_key(request: TraceRequest) -> tuple:
    return tuple((s.sae, s.feature, s.alpha, s.mode, s.start, s.end) for s in request.steering)


@st.cache_resource(show_spinner="Generating…", max_entries=64, ttl=3600)
def _generate(model_name, prompt, saes, steering, max_new_tokens, temperature, seed):
    from interp.generation import generate as _gen
    from interp.requests import GenerateRequest

    req = TraceRequest(model_name, prompt, saes, tuple(FeatureSteer(*s) for s in steering))
    return _gen(load_backend(model_name), GenerateRequest(req, max_new_tokens, temperature, 40, seed))


def generate(request: TraceRequest, max_new_tokens: int, temperature: float, seed: int):
    return _generate(request.model, request.prompt, request.saes, _steer_key(request), max_new_tokens, temperature, seed)


@st.cache_resource(show_spinner=False, max_entries=64, ttl=3600)
def _kl(model_name, tokens, saes, steering, start):
    from interp.generation import per_token_kl

    steers = tuple(s for s in (FeatureSteer(*x) for x in steering) if not s.is_identity)
    return per_token_kl(load_backend(model_name), tokens, steers, start)


def per_token_kl(request: TraceRequest, tokens: tuple[int, ...], start: int):
    return _kl(request.model, tokens, request.saes, _steer_key(request), start)


@st.cache_resource(show_spinner="Splicing the SAE in…", max_entries=64, ttl=3600)
def _splice(model_name, prompt, sae_id):
    from interp.sae_tools import splice_metrics

    return splice_metrics(load_backend(model_name), TraceRequest(model_name, prompt), sae_id)


def splice_metrics(request: TraceRequest, sae_id: str) -> dict:
    return _splice(request.model, request.prompt, sae_id)


@st.cache_resource(show_spinner="Scoring heads on the repeated-random-token probe…", max_entries=4)
def probe_head_scores(model_name: str, length: int = 50, seed: int = 0) -> dict:
    """Head-type scores on [BOS] + S + S (S = `length` random tokens): induction needs repetition."""
    from interp.analysis.heads import head_scores, repeated_random_tokens

    backend = load_backend(model_name)
    tokens = repeated_random_tokens(backend.model.cfg.d_vocab, length, seed, bos=backend.model.tokenizer.bos_token_id or 0)
    return head_scores(backend.attention_for_tokens(tokens), tokens)


@st.cache_resource(show_spinner="Splitting the feature over heads and MLPs…", max_entries=64, ttl=3600)
def feature_attribution(model_name: str, prompt: str, sae_id: str, feature: int, pos: int):
    from interp.attribution import attribute_feature

    return attribute_feature(load_backend(model_name), prompt, sae_id, feature, pos)


@st.cache_resource(show_spinner="Sweeping the steering strength (dose-response)…", max_entries=32, ttl=3600)
def steer_sweep(model_name: str, prompt: str, sae_id: str, feature: int, mode: str, start: int, seed: int,
                alpha: float | None = None):
    """interp.steer_sweep.sweep for one steering spec (its own strength swept with the grid), cached per request."""
    from interp.steer_sweep import sweep

    return sweep(load_backend(model_name), sae_id, prompt, feature, mode, start, seed=seed, also=alpha)


@st.cache_data(show_spinner=False)
def steerability(model_name: str, sae_id: str) -> dict:
    """The precomputed steerability scan stored beside an embedded SAE ({} for hub SAEs)."""
    from interp.steerability import load

    return load(REGISTRY.get(model_name).sae(sae_id).path)
