"""Caching at the edge, and the only place the Streamlit side reaches a backend.

One calling style: every public function here takes plain values or a frozen request, asks the model's
backend one verb of interp.backends.api.ModelBackend, and returns its frozen result. Results of forward
passes (traces, generations, KL, splice metrics, head probes, attributions, logit lenses) live in ONE cache,
bounded by bytes and age and keyed by the request itself (`results()`); cheap SAE-side reads of arrays that a
trace already holds are not cached. The backend itself is loaded once per model (st.cache_resource) and
serialises forward passes with its own lock. Results are immutable (read-only numpy arrays, frozen
dataclasses), so one cached object is shared by every session without copying.
"""
from __future__ import annotations

import os

import streamlit as st

from interp.backends import start_heavy_imports
from interp.backends.api import AttributionRequest, HeadProbeRequest, KLRequest, ModelInfo, SpliceRequest
from interp.lru import BoundedLRU, deep_nbytes
from interp.registry import REGISTRY
from interp.requests import GenerateRequest, TraceRequest



def warm_up(request: TraceRequest | None) -> None:
    """Called by app.py before it draws: unless this request's trace is the model's landing trace (drawn without
    the model), start the heavy imports now (once per process, under their lock) so they overlap drawing the
    sidebar. A landing session starts them after its page is drawn (preload), so they do not slow its first chart."""
    if request is not None and (model_ready(request.model) or _landed(request) is not None):
        return
    start_heavy_imports()


@st.cache_resource(show_spinner="Importing torch, TransformerLens and sae-lens (first start only)…")
def _heavy_imports() -> bool:
    from interp.backends import heavy_imports

    heavy_imports()
    return True


@st.cache_resource(show_spinner="Loading the model (once, shared by every session)…", max_entries=2)
def load_backend(model_name: str):
    """The model's backend (interp.backends.api.ModelBackend). Pages and app.py do not call it: they call the
    functions below (tests/test_sealed.py checks)."""
    from interp.backends import load_backend as _load

    _heavy_imports()
    backend = _load(model_name)
    _READY.add(model_name)
    return backend


_READY: set[str] = set()  # models whose backend this process has loaded (load_backend above)


def _landing(model_name: str):
    """_landing_for(model_name, the registry entry's repr): a changed entry (other files) is read afresh."""
    return _landing_for(model_name, repr(REGISTRY.get(model_name)))


@st.cache_resource(show_spinner=False, max_entries=8)
def _landing_for(model_name: str, spec_repr: str):  # noqa: ARG001  (part of the cache key)
    """(the default request, interp.landing.Landing or None): the model's precomputed landing trace,
    valid only for that request, the same weight files and the same backend kind. Read once per process (~20 ms,
    no torch)."""
    from interp import landing
    from interp.backends import backend_kind

    request = landing.default_request(model_name)
    return request, landing.load(request, backend_kind(model_name))


def _landed(request: TraceRequest):
    """The landing trace if it is exactly this request's, else None."""
    default, landed = _landing(request.model)
    return landed.trace if landed is not None and request == default else None


def model_ready(model_name: str) -> bool:
    """True when the model's backend is loaded (or its background load has finished)."""
    from interp.backends import preload_ready

    return model_name in _READY or preload_ready(model_name)


def configure_remote() -> bool:
    """Remote (NDIF) execution from the operator's secrets: st.secrets["NDIF_API_KEY"] (and optional
    NDIF_HOST); without them interp.remote falls back to the environment. True when remote is on."""
    from interp import remote

    try:
        key, host = st.secrets.get("NDIF_API_KEY"), st.secrets.get("NDIF_HOST")
    except Exception:  # no secrets.toml: Streamlit raises rather than returning None
        key = host = None
    if key:
        remote.configure(str(key), str(host) if host else None)
    return remote.enabled()


TRACE_CACHE_MB = float(os.environ.get("INTERP_TRACE_CACHE_MB", "128"))  # operators can raise it


@st.cache_resource
def results() -> BoundedLRU:
    """Every forward-pass result shared by every session, bounded by bytes and an hour's age: a trace's size
    depends on the model and the prompt, and 128 gpt2-small traces at 256 tokens would be 5 GB, far past a
    Community Cloud instance (st.cache_resource bounds only the number of entries)."""
    return BoundedLRU(TRACE_CACHE_MB * 2**20, ttl_s=3600.0, size=deep_nbytes)


trace_cache = results  # old name


def _memo(kind: str, request, compute, spinner: str | None = None):
    """results()[(kind, request)], computed (under a spinner) the first time; raises InterpError."""
    def run():
        if spinner is None:
            return compute()
        with st.spinner(spinner):
            return compute()

    return results().get((kind, request), run)


def trace(request: TraceRequest):
    """Cached trace for a request; raises InterpError with a user-facing sentence. A fresh session's default
    request is read from the model's landing file (interp.landing) without waiting for the model."""
    landed = _landed(request)
    if landed is not None:
        return results().get(("trace", request), lambda: landed)
    return _memo("trace", request, lambda: load_backend(request.model).trace(request), "Running the model…")


def logit_lens(request: TraceRequest):
    """The logit lens of a request's trace, computed the first time a page asks (no forward pass)."""
    return _memo("logit_lens", request, lambda: load_backend(request.model).logit_lens(trace(request)),
                 "Reading every layer through the unembedding (logit lens)…")


def model_info(model_name: str, request: TraceRequest | None = None) -> ModelInfo:
    """Sizes and names of a model (loads it the first time); raises LoadError. While the model has not loaded
    and `request` is its landing trace's, the info comes from that file: the page draws from it and the model
    loads after the page (preload); model_ready() says when it is done, and whatever needs the model waits."""
    if (request is not None and request.model == model_name and not model_ready(model_name)
            and _landed(request) is not None):
        return _landing(model_name)[1].info
    return load_backend(model_name).info


def preload(model_name: str) -> None:
    """Start loading the model in the background if this process has not (app.py calls it after the page has
    drawn, so the load does not compete with a fresh session's first chart)."""
    if model_name not in _READY:
        from interp.backends import preload as _preload

        _preload(model_name)


@st.cache_data(show_spinner=False)
def _sae_labels(model_name: str, sae_id: str) -> tuple[dict, str | None]:
    from interp.labels import load_labels

    return load_labels(REGISTRY.get(model_name).sae(sae_id).labels_path)


def sae_labels(model_name: str, sae_id: str) -> dict:
    """Offline labels stored beside an embedded SAE ({} for hub SAEs). A missing or corrupt file gives {}
    and a warning on the page (labels are optional), never a traceback."""
    labels, message = _sae_labels(model_name, sae_id)
    if message:
        st.warning(message)
    return labels


def generate(request: TraceRequest, max_new_tokens: int, temperature: float, seed: int):
    req = GenerateRequest(request, max_new_tokens, temperature, 40, seed)
    return _memo("generate", req, lambda: load_backend(request.model).generate(req), "Generating…")


def per_token_kl(request: TraceRequest, tokens: tuple[int, ...], start: int):
    req = KLRequest(request, tokens, start)
    return _memo("kl", req, lambda: load_backend(request.model).per_token_kl(req))


def splice_metrics(request: TraceRequest, sae_id: str) -> dict:
    req = SpliceRequest(TraceRequest(request.model, request.prompt), sae_id)
    return _memo("splice", req, lambda: load_backend(request.model).splice(req), "Splicing the SAE in…")


def probe_head_scores(model_name: str, length: int = 50, seed: int = 0) -> dict:
    """Head-type scores on [BOS] + S + S (S = `length` random tokens): induction needs repetition."""
    req = HeadProbeRequest(model_name, length, seed)
    from interp.landing import PROBE

    landed = _landing(model_name)[1]
    if landed is not None and landed.probe and (length, seed) == PROBE:  # precomputed with the landing trace
        return results().get(("head_probe", req), lambda: dict(landed.probe))
    return _memo("head_probe", req, lambda: load_backend(model_name).head_probe(req),
                 "Scoring heads on the repeated-random-token probe…")


def feature_attribution(model_name: str, prompt: str, sae_id: str, feature: int, pos: int):
    req = AttributionRequest(model_name, prompt, sae_id, feature, pos)
    return _memo("attribution", req, lambda: load_backend(model_name).attribute(req),
                 "Splitting the feature over heads and MLPs…")


def feature_logit_effects(model_name: str, sae_id: str, feature: int, k: int = 10) -> dict:
    return _memo("logit_effects", (model_name, sae_id, int(feature), int(k)),
                 lambda: load_backend(model_name).feature_logit_effects(sae_id, feature, k))


def mismatch_warnings(model_name: str, sae_id: str, n_pos: int) -> list[str]:
    return load_backend(model_name).mismatch_warnings(sae_id, n_pos)


# --- SAE re-encodes of activations a trace holds (no forward pass; arrays are not cache keys) -------
def feature_activations(model_name: str, sae_id: str, inputs, feature: int):
    return load_backend(model_name).feature_activations(sae_id, inputs, feature)


def all_feature_activations(model_name: str, sae_id: str, inputs):
    return load_backend(model_name).all_feature_activations(sae_id, inputs)


def decoder_norm(model_name: str, sae_id: str, feature: int) -> float:
    return load_backend(model_name).decoder_norm(sae_id, feature)


def str_tokens(model_name: str, ids) -> tuple[str, ...]:
    """Each id's text, decoded on its own (as the trace's str_tokens); the landing trace's top next tokens without
    the model."""
    landed = _landing(model_name)[1] if model_name not in _READY else None
    if landed is not None and all(int(i) in landed.token_strings for i in ids):
        return tuple(landed.token_strings[int(i)] for i in ids)
    return load_backend(model_name).str_tokens(ids)


# --- one head's inner workings and the logit's direct split: from the cached trace, no forward pass -------
def qk_split(request: TraceRequest, layer: int, head: int, query: int, key_pos: int):
    cell = (int(layer), int(head), int(query), int(key_pos))
    return _memo("qk_split", (request, cell), lambda: load_backend(request.model).qk_split(trace(request), *cell),
                 "Splitting the attention score over SAE features…")


def value_weighted(request: TraceRequest, layer: int):
    """([head, q, k] ||a_ij v_j W_O||, [head, k] ||v_j W_O||) of one layer."""
    return _memo("value_weighted", (request, int(layer)),
                 lambda: load_backend(request.model).value_weighted(trace(request), int(layer)))


def head_anatomy(request: TraceRequest, layer: int, head: int, query: int):
    cell = (int(layer), int(head), int(query))
    return _memo("head_anatomy", (request, cell), lambda: load_backend(request.model).head_anatomy(trace(request), *cell))


def token_choices(request: TraceRequest, pos: int):
    return _memo("token_choices", (request, int(pos)),
                 lambda: load_backend(request.model).token_choices(trace(request), int(pos)))


def logit_attribution(request: TraceRequest, pos: int, token: int):
    cell = (int(pos), int(token))
    return _memo("logit_attribution", (request, cell),
                 lambda: load_backend(request.model).logit_attribution(trace(request), *cell),
                 "Splitting the logit over heads and MLPs…")


# --- feature dashboards (interp.dashboards): offline files for embedded SAEs, local maths for hub ones --------
@st.cache_resource(show_spinner=False, max_entries=16)
def _feature_dashboard(model_name: str, sae_id: str):
    from interp.dashboards.store import FILE, Dashboard

    spec = REGISTRY.get(model_name).sae(sae_id)
    return Dashboard.load_optional(spec.path / FILE if spec.path is not None else None)


def feature_dashboard(model_name: str, sae_id: str):
    """The offline dashboard (interp.dashboards.store.Dashboard) of an embedded SAE; None for hub SAEs or when
    its file is missing, and None plus a warning when it is corrupt. Read once and shared: a few MB of
    read-only arrays."""
    dash, message = _feature_dashboard(model_name, sae_id)
    if message:
        st.warning(message)
    return dash


def similar_features(model_name: str, sae_id: str, feature: int) -> list:
    return _memo("similar", (model_name, sae_id, int(feature)),
                 lambda: load_backend(model_name).similar_features(sae_id, int(feature)))


def feature_on_prompt(request: TraceRequest, sae_id: str, feature: int):
    """One feature's activation at every token of a request's (cached) trace, re-encoding its stored inputs."""
    return feature_activations(request.model, sae_id, trace(request).saes[sae_id].inputs, feature)


# --- SAE lab (interp.sae_lab): activations and splices through the backend; training runs outside its lock ----
@st.cache_resource(show_spinner="Reading the layer's residual stream on held-out text (once per layer)…",
                   max_entries=4, ttl=3600)
def sae_lab_layer(model_name: str, hook: str):
    """SAE lab, real layer: activations at `hook` on the held-out sample (interp.sae_lab.real), shared."""
    return load_backend(model_name).lab_layer(hook)


@st.cache_resource(show_spinner=False, max_entries=8)
def sae_lab_shipped(model_name: str, sae_id: str) -> tuple:
    """(decoder [d_sae, d_model], labels) of a shipped SAE, for the lab's closest-feature table."""
    return load_backend(model_name).lab_shipped(sae_id)


def sae_lab_ce(model_name: str, data, weights) -> dict:
    """CE with a lab-trained SAE spliced in (a few locked forward passes; the page keeps the result)."""
    return load_backend(model_name).lab_ce(data, weights)


# --- steering: dose-response sweep (a batched forward pass per grid) and the precomputed scan ------------------
def steer_sweep(model_name: str, prompt: str, sae_id: str, feature: int, mode: str, start: int, seed: int,
                alpha: float | None = None):
    """interp.steer_sweep.sweep for one steering spec (its own strength swept with the grid), cached per request."""
    key = (model_name, prompt, sae_id, int(feature), mode, int(start), int(seed), alpha)
    return _memo("steer_sweep", key,
                 lambda: load_backend(model_name).steer_sweep(sae_id, prompt, int(feature), mode, int(start),
                                                              seed=int(seed), also=alpha),
                 "Sweeping the steering strength (dose-response)…")


@st.cache_data(show_spinner=False)
def _steerability(model_name: str, sae_id: str) -> tuple[dict, str | None]:
    from interp.steerability import read

    return read(REGISTRY.get(model_name).sae(sae_id).path)


def steerability(model_name: str, sae_id: str) -> dict:
    """The precomputed steerability scan stored beside an embedded SAE ({} for hub SAEs). A corrupt file gives
    {} and a warning (the scan is optional, as labels are), never a traceback."""
    scan, message = _steerability(model_name, sae_id)
    if message:
        st.warning(message)
    return scan
