"""Measured steering claims (torch): the base rate of a topic's words beside the steered rate, over many samples,
with the coherence of the steered text. The sidebar's steering example states these numbers; a test checks them."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from interp.steer_batch import base_loss, repetition_rate, steered_batch
from interp.topics import SCRIPTURE, topic_count


@dataclass(frozen=True)
class TopicShift:
    samples: int
    base_rate: float  # topic words per continuation, unsteered
    steered_rate: float
    base_share: float  # share of continuations with at least one topic word
    steered_share: float
    base_loss: float  # mean loss of the continuations under the unsteered model
    steered_loss: float
    base_repetition: float  # repeated-bigram rate
    steered_repetition: float


def topic_shift(backend, sae_id: str, prompt: str, feature: int, alpha: float, samples: int = 20, n_new: int = 30,
                temperature: float = 0.8, top_k: int = 40, seed: int = 0, words=SCRIPTURE) -> TopicShift:
    """`samples` base and `samples` steered continuations (add mode, every position), paired: sample i of each
    shares its random draws. One batch of 2 x samples rows."""
    tokens, _ = backend.to_tokens(prompt, 256)
    values = torch.cat([torch.zeros(samples), torch.full((samples,), float(alpha))])
    res = steered_batch(backend, sae_id, tokens.repeat(2 * samples, 1), torch.full((2 * samples,), feature), values,
                        n_new=n_new, temperature=temperature, top_k=top_k, seed=seed,
                        sample_of=torch.arange(samples).repeat(2), keep_prompt=False)
    decode = backend.model.tokenizer.decode
    counts = np.array([topic_count(decode(r[res.n_prompt:].tolist()), words) for r in res.tokens], float)
    loss, rep = base_loss(backend, res.tokens, res.n_prompt), repetition_rate(res.tokens, res.n_prompt)
    b, s = slice(0, samples), slice(samples, None)
    return TopicShift(samples, counts[b].mean(), counts[s].mean(), (counts[b] > 0).mean(), (counts[s] > 0).mean(),
                      float(loss[b].mean()), float(loss[s].mean()), float(rep[b].mean()), float(rep[s].mean()))
