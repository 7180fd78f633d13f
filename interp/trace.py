"""The result of one forward pass: frozen numpy arrays on CPU, no reference to the model."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def _frozen(a) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class SAEActivations:
    """Top-k SAE latents per position for one SAE (sparse: the full [pos, d_sae] is not kept)."""

    sae: str
    hook: str
    d_sae: int
    top_idx: np.ndarray  # [pos, k] int32, latent ids sorted by activation (descending)
    top_act: np.ndarray  # [pos, k] float32
    l0: np.ndarray  # [pos] number of active latents
    total_act: np.ndarray  # [pos] sum of all latent activations (for "share of the token's activation")
    error_norm: np.ndarray  # [pos] ||x - x_hat||
    input_norm: np.ndarray  # [pos] ||x||
    fvu: float  # fraction of variance unexplained over the non-BOS positions
    inputs: np.ndarray | None = None  # [pos, d_model] the hook's activations (feature detail re-encodes them)

    def __post_init__(self):
        for name in ("top_idx", "top_act", "l0", "total_act", "error_norm", "input_norm") + (
                ("inputs",) if self.inputs is not None else ()):
            object.__setattr__(self, name, _frozen(getattr(self, name)))


@dataclass(frozen=True)
class LogitLens:
    """Top-k next tokens read from every residual of a trace (final LayerNorm with its own scale, unembed)."""

    top_idx: np.ndarray  # [layer + 1, pos, k] int32; the last row is the model's own output
    top_prob: np.ndarray  # [layer + 1, pos, k]
    token_strings: dict[int, str] = field(default_factory=dict)  # id -> text for every id in top_idx

    def __post_init__(self):
        for name in ("top_idx", "top_prob"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))


@dataclass(frozen=True)
class Trace:
    model: str
    prompt: str
    tokens: np.ndarray  # [pos] int64, BOS at 0
    str_tokens: tuple[str, ...]
    attention: np.ndarray  # [layer, head, query_pos, key_pos] float32
    resid_pre_norm: np.ndarray  # [layer, pos]  ||blocks.l.hook_resid_pre||
    resid_mid_norm: np.ndarray  # [layer, pos]  ||blocks.l.hook_resid_mid||
    resid_post_norm: np.ndarray  # [layer, pos] ||blocks.l.hook_resid_post||; the last is the final residual
    next_token_logprobs: np.ndarray  # [vocab] float32, log-probs after the last position
    attn_out_norm: np.ndarray  # [layer, pos] ||blocks.l.hook_attn_out||: what each attention block writes
    mlp_out_norm: np.ndarray  # [layer, pos]  ||blocks.l.hook_mlp_out||
    resid_cosine: np.ndarray  # [layer, pos] cos(resid before block l, resid after block l)
    resid_stack: np.ndarray  # [layer + 1, pos, d_model] resid_pre of every layer, then the final resid
    # (kept for the logit lens, which is computed when a page asks for it: 13 unembeddings per prompt would
    # make gpt2-small's traced pass ~4x its bare forward)
    saes: dict[str, SAEActivations] = field(default_factory=dict)
    d_model: int = 0
    steering: tuple = ()
    notices: tuple[str, ...] = ()  # sentences for the user (truncation, processing caveats)
    processing: dict = field(default_factory=dict)  # how the model was loaded (fold_ln, centring)

    def __post_init__(self):
        for name in ("tokens", "attention", "resid_pre_norm", "resid_mid_norm", "resid_post_norm",
                     "next_token_logprobs", "attn_out_norm", "mlp_out_norm", "resid_cosine", "resid_stack"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))

    @property
    def nbytes(self) -> int:
        """Memory held by the arrays (caches bound themselves by this: one gpt2-small trace at 256 tokens is
        ~40 MB, mostly attention, and the tiny model's is ~4 MB)."""
        total = sum(v.nbytes for v in vars(self).values() if isinstance(v, np.ndarray))
        for acts in self.saes.values():
            total += sum(v.nbytes for v in vars(acts).values() if isinstance(v, np.ndarray))
        return total

    @property
    def n_layers(self) -> int:
        return self.attention.shape[0]

    @property
    def n_heads(self) -> int:
        return self.attention.shape[1]

    @property
    def n_pos(self) -> int:
        return len(self.tokens)

    def summary(self, top: int = 3) -> dict:
        """A JSON-able digest: tokens, shapes, residual norms, top features per token."""
        out = {
            "model": self.model,
            "n_tokens": self.n_pos,
            "tokens": list(self.str_tokens),
            "shapes": {"attention": list(self.attention.shape), "resid_pre_norm": list(self.resid_pre_norm.shape)},
            "resid_norm_mean": {
                "resid_pre": self.resid_pre_norm.mean(1).round(3).tolist(),
                "resid_mid": self.resid_mid_norm.mean(1).round(3).tolist(),
                "resid_post": self.resid_post_norm.mean(1).round(3).tolist(),
            },
            "notices": list(self.notices),
            "saes": {},
        }
        for sid, acts in self.saes.items():
            per_tok = []
            for p, tok in enumerate(self.str_tokens):
                feats = [
                    {"feature": int(i), "act": round(float(a), 3)}
                    for i, a in zip(acts.top_idx[p, :top], acts.top_act[p, :top])
                    if a > 0
                ]
                per_tok.append({"pos": p, "token": tok, "features": feats})
            out["saes"][sid] = {"hook": acts.hook, "mean_l0": round(float(acts.l0.mean()), 2), "tokens": per_tok}
        return out
