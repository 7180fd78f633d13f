"""Head-type scores from attention patterns (pure numpy).

Scores follow TransformerLens `head_detector.detect_head` with error_measure="mul": the share of a
head's attention that falls on the detection pattern's cells, averaged over all query rows
(sum(pattern * detection) / sum(pattern)). A perfect induction head on [BOS] + S + S therefore scores
about 0.5, because the first copy of S has nothing to attend to.
"""
from __future__ import annotations

import numpy as np


def previous_token_detection(n: int) -> np.ndarray:
    return np.eye(n, k=-1)  # [query, key]: 1 where key == query - 1


def duplicate_token_detection(tokens: np.ndarray) -> np.ndarray:
    eq = (tokens[:, None] == tokens[None, :]).astype(float)
    np.fill_diagonal(eq, 0.0)
    return np.tril(eq)


def induction_detection(tokens: np.ndarray) -> np.ndarray:
    dup = duplicate_token_detection(tokens)
    ind = np.zeros_like(dup)
    ind[:, 1:] = dup[:, :-1]  # attend to the token *after* an earlier copy of the current token
    return np.tril(ind)


def detection_score(patterns: np.ndarray, detection: np.ndarray) -> np.ndarray:
    """patterns: [..., query, key] -> [...]; TL's "mul" error measure."""
    return (patterns * detection).sum(axis=(-2, -1)) / patterns.sum(axis=(-2, -1))


def entropy(patterns: np.ndarray) -> np.ndarray:
    """Mean attention entropy in nats per head: [..., q, k] -> [...]."""
    p = np.clip(patterns, 1e-12, 1.0)
    return -(patterns * np.log(p)).sum(-1).mean(-1)


def head_scores(patterns: np.ndarray, tokens: np.ndarray) -> dict[str, np.ndarray]:
    """patterns: [layer, head, query, key]; tokens: [pos]. Every value is [layer, head]."""
    n = len(tokens)
    return {
        "previous_token": detection_score(patterns, previous_token_detection(n)),
        "duplicate_token": detection_score(patterns, duplicate_token_detection(tokens)),
        "induction": detection_score(patterns, induction_detection(tokens)),
        "bos_sink": patterns[..., :, 0].mean(-1),
        "entropy": entropy(patterns),
    }


def repeated_random_tokens(vocab_size: int, length: int = 50, seed: int = 0, bos: int = 0) -> np.ndarray:
    """[BOS] + S + S with S uniform random non-special tokens: the standard induction probe."""
    rng = np.random.default_rng(seed)
    span = rng.integers(1, vocab_size, size=length)
    return np.concatenate([[bos], span, span]).astype(np.int64)
