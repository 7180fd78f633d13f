"""What the user asked for: frozen, hashable, validated. A TraceRequest is the cache key."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from interp.errors import BadInput

SteerMode = Literal["add", "clamp", "ablate"]
STEER_MODES: tuple[str, ...] = ("add", "clamp", "ablate")
MAX_PROMPT_CHARS = 100_000  # longer prompts are refused; anything past the context is truncated with a notice
MAX_ALPHA = 1_000.0


def _whole(n) -> bool:
    """An int (numpy ints included), or a float with a whole value; never a bool, a string or NaN."""
    if isinstance(n, bool):
        return False
    if isinstance(n, int) or type(n).__name__.startswith(("int", "uint")):
        return True
    return isinstance(n, float) and math.isfinite(n) and n == int(n)


@dataclass(frozen=True)
class FeatureSteer:
    """Push one SAE feature at its SAE's hook.

    add:    resid += alpha * W_dec[feature]        (alpha in units of the feature's activation)
    clamp:  the feature's activation is set to alpha (SAE spliced in, error term kept)
    ablate: the feature's activation is set to 0   (SAE spliced in, error term kept)
    Positions start <= p < end are steered (start 0, end None = every position, generated tokens included).
    """

    sae: str
    feature: int
    alpha: float = 0.0
    mode: SteerMode = "add"
    start: int = 0
    end: int | None = None

    def __post_init__(self):
        # Types first (a run record or a link can hold anything): only BadInput leaves here.
        if not isinstance(self.sae, str):
            raise BadInput("The steered SAE must be named.")
        if not isinstance(self.mode, str) or self.mode not in STEER_MODES:
            raise BadInput(f"Unknown steering mode; choose one of {', '.join(STEER_MODES)}.")
        if isinstance(self.alpha, bool) or not isinstance(self.alpha, (int, float)) or not math.isfinite(self.alpha):
            raise BadInput("Steering strength must be a finite number.")
        if abs(self.alpha) > MAX_ALPHA:
            raise BadInput(f"Steering strength {self.alpha:g} is out of range (|alpha| <= {MAX_ALPHA:g}).")
        if not _whole(self.feature) or self.feature < 0:
            raise BadInput("Feature index must be a non-negative integer.")
        if not _whole(self.start) or self.start < 0:
            raise BadInput("The first steered position must be a non-negative integer.")
        if self.end is not None and (not _whole(self.end) or self.end <= self.start):
            raise BadInput("The last steered position must come after the first.")
        object.__setattr__(self, "alpha", float(self.alpha))
        object.__setattr__(self, "feature", int(self.feature))
        object.__setattr__(self, "start", int(self.start))

    @property
    def is_identity(self) -> bool:
        return self.mode == "add" and self.alpha == 0.0


@dataclass(frozen=True)
class TraceRequest:
    """One forward pass: which model, which prompt, which SAEs to read, which features to push."""

    model: str
    prompt: str
    saes: tuple[str, ...] = ()
    steering: tuple[FeatureSteer, ...] = ()
    top_k: int = 8
    max_tokens: int = 256  # positions kept (BOS included); longer prompts are truncated with a notice

    def __post_init__(self):
        if not isinstance(self.prompt, str) or not self.prompt.strip():
            raise BadInput("The prompt is empty: type some text to run the model on.")
        if len(self.prompt) > MAX_PROMPT_CHARS:
            raise BadInput(
                f"The prompt has {len(self.prompt):,} characters; the limit is {MAX_PROMPT_CHARS:,}. Shorten it."
            )
        object.__setattr__(self, "saes", tuple(self.saes))
        object.__setattr__(self, "steering", tuple(self.steering))
        if not 1 <= self.top_k <= 64:
            raise BadInput("top_k must be between 1 and 64.")
        if self.max_tokens < 2:
            raise BadInput("max_tokens must be at least 2.")

    @property
    def active_steering(self) -> tuple[FeatureSteer, ...]:
        """Steers that change anything: add with alpha 0 is dropped, so it runs the base pass exactly."""
        return tuple(s for s in self.steering if not s.is_identity)

    def base(self) -> "TraceRequest":
        """The same request without steering."""
        return TraceRequest(self.model, self.prompt, self.saes, (), self.top_k, self.max_tokens)


@dataclass(frozen=True)
class GenerateRequest:
    """Sample a continuation of `trace.prompt`, steered by `trace.steering` at every step (KV cache included)."""

    trace: TraceRequest
    max_new_tokens: int = 30
    temperature: float = 0.8
    top_k: int = 40
    seed: int = 0

    def __post_init__(self):
        if not 1 <= self.max_new_tokens <= 200:
            raise BadInput("Generate between 1 and 200 new tokens.")
        if not (math.isfinite(self.temperature) and 0.0 <= self.temperature <= 5.0):
            raise BadInput("Temperature must be between 0 (greedy) and 5.")
        if self.top_k < 0:
            raise BadInput("top_k must be >= 0 (0 = no top-k filter).")
