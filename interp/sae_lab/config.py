"""What a user sets for one SAE lab run, checked at this one boundary, and what a finished run keeps."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from interp.errors import BadInput

ARCHS = ("standard", "topk")  # sae-lens architectures: ReLU + L1 penalty, or TopK (k active latents)
MAX_STEPS = 5000  # bounds one run: the toy needs ~1,500, the real layer ~1,500 at 512 latents
MAX_LATENTS = 1024
MAX_BATCH = 4096


@dataclass(frozen=True)
class LabConfig:
    arch: str = "standard"
    d_sae: int = 6  # number of latents
    l1: float = 0.3  # L1 coefficient (standard)
    k: int = 1  # active latents (topk)
    steps: int = 1500
    lr: float = 1e-2
    batch: int = 512
    seed: int = 0

    def __post_init__(self):
        if self.arch not in ARCHS:
            raise BadInput(f"Unknown SAE architecture {self.arch!r}; pick one of {', '.join(ARCHS)}.")
        _check_int("Latents", self.d_sae, 1, MAX_LATENTS)
        _check_int("Steps", self.steps, 1, MAX_STEPS)
        _check_int("Batch size", self.batch, 1, MAX_BATCH)
        _check_int("Seed", self.seed, 0, 2**31 - 1)
        if self.arch == "topk":
            _check_int("k", self.k, 1, self.d_sae)
        if not (isinstance(self.l1, (int, float)) and 0.0 <= self.l1 <= 100.0):
            raise BadInput(f"The L1 coefficient must be a number in [0, 100], not {self.l1!r}.")
        if not (isinstance(self.lr, (int, float)) and 1e-6 <= self.lr <= 1.0):
            raise BadInput(f"The learning rate must be a number in [1e-6, 1], not {self.lr!r}.")

    @property
    def penalty(self) -> str:
        """The sparsity setting in words (chart legends, sweep rows)."""
        return f"L1 {self.l1:g}" if self.arch == "standard" else f"k={self.k}"


def _check_int(name: str, value, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
        raise BadInput(f"{name} must be a whole number from {lo} to {hi}, not {value!r}.")


@dataclass(frozen=True)
class SAEWeights:
    """A trained SAE as plain arrays in the input's own units (the training scale folded in): what the page keeps
    in its session, with no model or torch module. sae() rebuilds the sae-lens inference SAE."""
    arch: str
    k: int
    W_enc: np.ndarray  # [d_in, d_sae]
    b_enc: np.ndarray  # [d_sae]
    W_dec: np.ndarray  # [d_sae, d_in]
    b_dec: np.ndarray  # [d_in]

    @property
    def d_sae(self) -> int:
        return self.W_dec.shape[0]

    def sae(self):
        """The sae-lens inference SAE (StandardSAE / TopKSAE) with these weights."""
        import torch
        from sae_lens import StandardSAE, StandardSAEConfig, TopKSAE, TopKSAEConfig

        d_in, d_sae = self.W_enc.shape
        if self.arch == "topk":
            # the decoder norm is folded into the weights, as sae-lens does when it saves a TopK SAE
            sae = TopKSAE(TopKSAEConfig(d_in=d_in, d_sae=d_sae, k=self.k, rescale_acts_by_decoder_norm=False))
        else:
            sae = StandardSAE(StandardSAEConfig(d_in=d_in, d_sae=d_sae))
        sae.load_state_dict({n: torch.from_numpy(np.array(getattr(self, n))) for n in ("W_enc", "b_enc", "W_dec", "b_dec")})
        return sae.eval()


# The presets' starting points (the page's defaults, the bench and the tests use the same ones).
# Toy: an L1 of 0.5 recovers all 6 features of the default toy; weaker penalties reconstruct better with latents
# that sit between two features (the sweep shows it). Real layer: TopK k=32 with 512 latents, the shipped SAEs' recipe.
TOY_DEFAULT = LabConfig(arch="standard", d_sae=6, l1=0.5, k=1, steps=500, lr=3e-2, batch=512)
REAL_DEFAULT = LabConfig(arch="topk", d_sae=512, l1=3.0, k=32, steps=600, lr=3e-3, batch=1024)
