"""Dose-response of one steering spec (torch): strength grid -> effect and cost, and the working range.

Strength is measured as ||alpha W_dec|| / mean ||resid|| at the SAE's hook (the "ratio"): comparable
across features and SAEs, unlike multiples of a feature's max activation. Each strength is run on the
same `samples` random draws (shared uniforms), so strengths differ only where steering moved the model.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from interp.errors import BadInput
from interp.steer_batch import base_loss, mean_resid_norm, promoted_tokens, repetition_rate, steered_batch

GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0)  # ratios; the last ones are past collapse
LOSS_SLACK = 1.0  # nats: coherent while the continuation's loss under the unsteered model rises by at most this
REP_SLACK = 0.15  # coherent while the repeated-bigram rate rises by at most this over the base text
RISE_KL = 0.1  # the effect "has risen": next-token distributions over the prompt moved by at least this (nats) ...
RISE_MASS = 3.0  # ... or the probability on the feature's promoted tokens grew this many times (plus 0.005)


@dataclass(frozen=True)
class SweepPoint:
    ratio: float  # ||alpha W_dec|| / mean ||resid||
    alpha: float  # in the feature's activation units (add: the coefficient; clamp: the value)
    feature_act: float  # the feature re-encoded at its own hook on generated tokens (clamp makes this ~alpha)
    topic_mass: float  # steered probability on the feature's top promoted tokens, mean over sampled steps
    kl_prompt: float  # KL(base || steered) of next-token distributions over the prompt, mean per position
    loss: float  # the steered continuation's mean loss under the unsteered model
    repetition: float  # repeated-bigram rate of the steered continuation
    coherent: bool
    risen: bool


@dataclass(frozen=True)
class Sweep:
    sae: str
    feature: int
    mode: str
    resid_norm: float
    decoder_norm: float
    topic_tokens: tuple[int, ...]
    points: tuple[SweepPoint, ...]

    @property
    def working(self) -> tuple[SweepPoint, ...]:
        """Points where the effect has risen and coherence still holds."""
        return tuple(p for p in self.points if p.risen and p.coherent)

    @property
    def working_range(self) -> tuple[float, float] | None:
        """(lowest, highest) working alpha, None when no strength both moves the effect and stays coherent."""
        w = self.working
        return (w[0].alpha, w[-1].alpha) if w else None


def _kl(base: np.ndarray, steered: np.ndarray, start: int) -> float:
    """Mean over prompt positions >= start of KL(base || steered); logprobs [pos, vocab]."""
    b, s = base[start:], steered[start:]
    return float((np.exp(b) * (b - s)).sum(-1).mean()) if len(b) else 0.0


def judge(ratios, alphas, feature_act, mass, kl, loss, rep) -> tuple[SweepPoint, ...]:
    """Mark each grid point coherent / risen against the first (strength 0) point."""
    out = []
    for i, r in enumerate(ratios):
        coherent = loss[i] <= loss[0] + LOSS_SLACK and rep[i] <= rep[0] + REP_SLACK
        risen = i > 0 and (kl[i] >= RISE_KL or mass[i] >= RISE_MASS * mass[0] + 0.005)
        out.append(SweepPoint(float(r), float(alphas[i]), float(feature_act[i]), float(mass[i]), float(kl[i]),
                              float(loss[i]), float(rep[i]), bool(coherent), bool(risen)))
    return tuple(out)


def sweep(backend, sae_id: str, prompt: str, feature: int, mode: str = "add", start: int = 0, samples: int = 8,
          n_new: int = 20, temperature: float = 0.8, seed: int = 0, grid=GRID, max_tokens: int = 256,
          also: float | None = None) -> Sweep:
    """Run every strength of `grid` x `samples` continuations as one batch (one forward per new token).
    also: one more strength (alpha, e.g. the slider's), swept with the grid so that it is judged the same way."""
    if mode not in ("add", "clamp"):
        raise BadInput("Only add and clamp have a strength to sweep; ablate has none.")
    tokens, _ = backend.to_tokens(prompt, max_tokens)  # [1, n]
    sae = backend.sae(sae_id)
    r_norm = mean_resid_norm(backend, sae_id, tokens) if tokens.shape[1] > 1 else 1.0
    d_norm = float(sae.W_dec[feature].detach().norm())
    if also is not None and also != 0:
        grid = sorted(set(grid) | {round(abs(float(also)) * d_norm / max(r_norm, 1e-9), 4)})
    ratios = np.asarray(grid, dtype=np.float32)
    sign = -1.0 if also is not None and also < 0 else 1.0  # sweep in the direction the slider points
    alphas = sign * ratios * r_norm / max(d_norm, 1e-9)
    rows = len(grid) * samples
    values = torch.as_tensor(alphas).repeat_interleave(samples)
    if mode == "clamp":  # point 0 is the base run, not "clamped to 0"
        values[:samples] = float("nan")
    res = steered_batch(backend, sae_id, tokens.repeat(rows, 1), torch.full((rows,), feature), values, mode=mode,
                        n_new=n_new, temperature=temperature, seed=seed, start=start,
                        sample_of=torch.arange(samples).repeat(len(grid)))
    topic = promoted_tokens(backend, sae_id, feature)
    loss = base_loss(backend, res.tokens, res.n_prompt).reshape(len(grid), samples).mean(1)
    rep = repetition_rate(res.tokens, res.n_prompt).reshape(len(grid), samples).mean(1)
    mass = res.mean_probs[:, topic].sum(-1).reshape(len(grid), samples).mean(1)
    act = res.feature_act.reshape(len(grid), samples).mean(1)
    base_lp = res.prompt_logprobs[0]
    kl = [_kl(base_lp, res.prompt_logprobs[i * samples], start) for i in range(len(grid))]
    return Sweep(sae_id, int(feature), mode, r_norm, d_norm, tuple(int(t) for t in topic),
                 judge(ratios, alphas, act, mass, kl, loss, rep))
