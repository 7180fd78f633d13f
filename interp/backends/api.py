"""The model interface: frozen requests in, frozen results out. Nothing outside interp/backends/ touches a
model, a hook, the forward lock or TransformerLens internals; the Streamlit side (components/cached.py) calls
only the methods of `ModelBackend` below.

Two implementations: TransformerLensBackend (the default; lean forward for GPT-2-style models) and
NNsightBackend (any Hugging Face causal LM through nnsight, locally or on NDIF). Both share
interp.backends.common.BaseBackend, which builds every result from three primitives (tokens, one forward
pass with hooks at TransformerLens hook names, the unembedding), so a Trace means the same on both.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from interp.errors import BadInput
from interp.requests import GenerateRequest, TraceRequest

if TYPE_CHECKING:
    import numpy as np

    from interp.attribution import FeatureAttribution
    from interp.generation import Generation
    from interp.registry import ModelSpec
    from interp.trace import LogitLens, Trace


@dataclass(frozen=True)
class ModelInfo:
    """What the sidebar and pages may know about a loaded model (plain values, no tensors)."""

    name: str
    title: str
    backend: str  # "transformer_lens" | "nnsight" | "nnsight (NDIF)"
    n_layers: int
    n_heads: int
    d_model: int
    d_vocab: int
    n_ctx: int
    n_params: int
    bos_token_id: int


@dataclass(frozen=True)
class KLRequest:
    """Per-token KL(steered || base) over `tokens` (teacher-forced), from position start - 1 on."""

    trace: TraceRequest  # model + steering (its prompt is not re-tokenised)
    tokens: tuple[int, ...]
    start: int

    def __post_init__(self):
        object.__setattr__(self, "tokens", tuple(int(t) for t in self.tokens))
        if not 1 <= self.start <= len(self.tokens):
            raise BadInput(f"KL start {self.start} is outside the {len(self.tokens)} tokens.")


@dataclass(frozen=True)
class AttributionRequest:
    """Split one SAE feature's pre-activation at one token over embeddings, heads and MLPs."""

    model: str
    prompt: str
    sae: str
    feature: int
    pos: int
    max_tokens: int = 256

    def __post_init__(self):
        TraceRequest(self.model, self.prompt, max_tokens=self.max_tokens)  # same prompt checks
        if int(self.feature) != self.feature or self.feature < 0 or int(self.pos) != self.pos or self.pos < 0:
            raise BadInput("Feature and token position must be non-negative integers.")


@dataclass(frozen=True)
class SpliceRequest:
    """Cross-entropy with the SAE's reconstruction spliced in at its hook (see sae_tools.splice_metrics)."""

    trace: TraceRequest
    sae: str


@dataclass(frozen=True)
class HeadProbeRequest:
    """Head-type scores on [BOS] + S + S, S = `length` random tokens drawn with `seed`."""

    model: str
    length: int = 50
    seed: int = 0

    def __post_init__(self):
        if not 2 <= self.length <= 500:
            raise BadInput("The probe length must be between 2 and 500 tokens.")


@runtime_checkable
class ModelBackend(Protocol):
    """The verbs the app uses. Every argument is a frozen value; every result is frozen or plain."""

    @property
    def info(self) -> ModelInfo: ...

    @property
    def forward_passes(self) -> int: ...  # counted so tests can prove a page switch runs none

    def trace(self, request: TraceRequest) -> "Trace": ...

    def generate(self, request: GenerateRequest) -> "Generation": ...

    def per_token_kl(self, request: KLRequest) -> "np.ndarray": ...

    def attribute(self, request: AttributionRequest) -> "FeatureAttribution": ...

    def splice(self, request: SpliceRequest) -> dict: ...

    def head_probe(self, request: HeadProbeRequest) -> dict: ...

    def logit_lens(self, trace: "Trace", k: int = 5) -> "LogitLens": ...

    def feature_activations(self, sae_id: str, inputs: "np.ndarray", feature: int) -> "np.ndarray": ...

    def all_feature_activations(self, sae_id: str, inputs: "np.ndarray") -> "np.ndarray": ...

    def feature_logit_effects(self, sae_id: str, feature: int, k: int = 10) -> dict: ...

    def decoder_norm(self, sae_id: str, feature: int) -> float: ...

    def similar_features(self, sae_id: str, feature: int, k: int = 5) -> list[tuple[int, float]]: ...

    def mismatch_warnings(self, sae_id: str, n_pos: int) -> list[str]: ...

    def str_tokens(self, ids) -> tuple[str, ...]: ...

    def decode(self, ids) -> str: ...

    # head detail (interp.backends.head_detail): from a cached trace and the weights, no forward pass
    def qk_split(self, trace: "Trace", layer: int, head: int, query: int, key: int): ...

    def value_weighted(self, trace: "Trace", layer: int): ...

    def head_anatomy(self, trace: "Trace", layer: int, head: int, query: int): ...

    def token_choices(self, trace: "Trace", pos: int): ...

    def logit_attribution(self, trace: "Trace", pos: int, token: int): ...

    # steering dose-response (interp.backends.sweeps)
    def steer_sweep(self, sae_id: str, prompt: str, feature: int, mode: str, start: int, seed: int = 0,
                    also: float | None = None): ...

    # SAE lab (interp.backends.lab)
    def lab_layer(self, hook: str): ...

    def lab_ce(self, data, weights) -> dict: ...

    def lab_shipped(self, sae_id: str) -> tuple: ...


METHODS = ("info", "forward_passes", "trace", "generate", "per_token_kl", "attribute", "splice", "head_probe",
           "logit_lens", "feature_activations", "all_feature_activations", "feature_logit_effects",
           "decoder_norm", "similar_features", "mismatch_warnings", "str_tokens", "decode",
           "qk_split", "value_weighted", "head_anatomy", "token_choices", "logit_attribution",
           "steer_sweep", "lab_layer", "lab_ce", "lab_shipped")
