"""The toy of superposition: n sparse features squeezed into d < n dimensions, and which SAE latent recovered
which feature. Data are drawn fresh for every batch (nothing stored)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from interp.errors import BadInput

# Names for the teaching story (a word the feature stands for); the maths only sees indices.
NAMES = ("cat", "dog", "robot", "tree", "car", "music", "river", "king", "bread", "rain", "clock", "ship",
         "gold", "fire", "book", "moon")
MAX_FEATURES = len(NAMES)


@dataclass(frozen=True)
class ToyConfig:
    """Feature i is on with probability freq[i]; when on, its value is importance[i] * U(0, 1). The input is
    the sum of the active features' directions (unit vectors in d dimensions) times their values."""
    n_features: int = 6
    d: int = 2
    freq: tuple[float, ...] = (0.05,) * 6
    importance: tuple[float, ...] = (1.0,) * 6
    seed: int = 0  # directions when d > 2

    def __post_init__(self):
        if not (isinstance(self.n_features, int) and 2 <= self.n_features <= MAX_FEATURES):
            raise BadInput(f"The toy has 2 to {MAX_FEATURES} features, not {self.n_features!r}.")
        if not (isinstance(self.d, int) and 1 <= self.d < self.n_features):
            raise BadInput(f"The toy squeezes n features into d < n dimensions: d={self.d!r}, n={self.n_features}.")
        for name, vals, lo, hi in (("frequency", self.freq, 1e-4, 1.0), ("importance", self.importance, 0.01, 10.0)):
            if len(vals) != self.n_features or not all(isinstance(v, (int, float)) and lo <= v <= hi for v in vals):
                raise BadInput(f"Give one {name} per feature ({self.n_features}), each from {lo:g} to {hi:g}.")

    @property
    def names(self) -> tuple[str, ...]:
        return NAMES[: self.n_features]

    def directions(self) -> np.ndarray:
        """[n, d] unit feature directions. In the plane: evenly spaced (a regular polygon, feature 0 along x);
        in more dimensions: random, seeded."""
        if self.d == 2:
            angles = 2 * np.pi * np.arange(self.n_features) / self.n_features
            return np.stack([np.cos(angles), np.sin(angles)], -1)
        u = np.random.default_rng(self.seed).standard_normal((self.n_features, self.d))
        return u / np.linalg.norm(u, axis=-1, keepdims=True)

    def sample(self, n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(feature values [n, n_features], inputs [n, d])."""
        on = torch.rand(n, self.n_features, generator=gen) < torch.tensor(self.freq)
        vals = on * torch.rand(n, self.n_features, generator=gen) * torch.tensor(self.importance, dtype=torch.float32)
        return vals, vals @ torch.from_numpy(self.directions()).float()

    def batches(self):
        """Batches for interp.sae_lab.train: fresh inputs [n, d] every call."""
        return lambda n, gen: self.sample(n, gen)[1]

    def mean_l0(self) -> float:
        """Active features per sample in the data (what an SAE's L0 should approach)."""
        return float(sum(self.freq))


def cosines(toy: ToyConfig, W_dec_unit: np.ndarray) -> np.ndarray:
    """[n_features, d_sae] cosine of each true direction with each unit decoder direction."""
    return toy.directions() @ W_dec_unit.T


def recovery(cos: np.ndarray) -> list[dict]:
    """Per true feature: the latent whose decoder direction is closest, and that cosine (the goal: >= 0.9)."""
    best = cos.argmax(1)
    return [{"feature": i, "latent": int(best[i]), "cosine": float(cos[i, best[i]])} for i in range(cos.shape[0])]


def latent_matches(cos: np.ndarray, fires: np.ndarray) -> list[dict]:
    """Per latent: the true feature it points at, the cosine, and how often it fires (0 = dead)."""
    best = cos.argmax(0)
    return [{"latent": j, "feature": int(best[j]), "cosine": float(cos[best[j], j]), "fires": float(fires[j])}
            for j in range(cos.shape[1])]


def all_recovered(cos: np.ndarray, threshold: float = 0.9) -> bool:
    """Every true feature has its own latent (distinct ones) at cosine >= threshold."""
    from scipy.optimize import linear_sum_assignment

    if cos.shape[1] < cos.shape[0]:
        return False
    rows, cols = linear_sum_assignment(-cos)
    return bool((cos[rows, cols] >= threshold).all())


EVAL_SAMPLES = 8192
EVAL_SEED = 12345  # a different stream from any training seed


def evaluate_toy(toy: ToyConfig, weights) -> dict:
    """Metrics on fresh inputs, the cosine matrix, and both recovery tables."""
    from interp.sae_lab.train import decoder_directions, evaluate

    _, x = toy.sample(EVAL_SAMPLES, torch.Generator().manual_seed(EVAL_SEED))
    metrics = evaluate(weights, x.numpy())
    cos = cosines(toy, decoder_directions(weights))
    return {**metrics, "cos": cos, "recovery": recovery(cos), "latents": latent_matches(cos, metrics["fires"]),
            "all_recovered": all_recovered(cos), "data_l0": toy.mean_l0()}


def sweep_penalties(cfg) -> list:
    """A few penalty values around the chosen one: L1 coefficients, or k from 1 to 4."""
    from dataclasses import replace

    if cfg.arch == "topk":
        return [replace(cfg, k=k) for k in range(1, min(4, cfg.d_sae) + 1)]
    return [replace(cfg, l1=l1) for l1 in (0.03, 0.1, 0.3, 0.5, 1.0)]


def sweep(toy: ToyConfig, cfg) -> list[dict]:
    """One run per penalty value (same seed, steps and lr): L0, explained variance, all features recovered?"""
    from interp.sae_lab.train import run

    rows = []
    for c in sweep_penalties(cfg):
        r = evaluate_toy(toy, run(c, toy.d, toy.batches()).weights)
        rows.append({"penalty": c.penalty, "l0": r["l0"], "explained_variance": r["explained_variance"],
                     "recovered": sum(x["cosine"] >= 0.9 for x in r["recovery"]), "dead": r["dead"]})
    return rows
