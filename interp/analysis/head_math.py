"""One attention head recomputed from the residual stream and the weights (pure numpy, float64).

TransformerLens holds GPT-2-style models with the LayerNorm folded (LNPre): a head reads
    LN(x) = (x - mean(x)) / sigma(x),  sigma(x) = sqrt(mean((x - mean(x))^2) + eps)
and computes q = LN(x) W_Q + b_Q, k = LN(x) W_K + b_K, v = LN(x) W_V + b_V, scores = q.k / attn_scale
(attn_scale = sqrt(d_head)), a causal mask, a softmax over keys, z = sum_j a_j v_j and out = z W_O.
Everything here starts from the residuals kept in the Trace (resid_stack[layer] is the head's input),
so no forward pass runs. Tests compare each step with TransformerLens's own hooks.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from interp.errors import BadInput


@dataclass(frozen=True)
class HeadWeights:
    """One layer's attention weights (backend.head_weights(layer)), float64."""

    W_Q: np.ndarray  # [head, d_model, d_head]
    b_Q: np.ndarray  # [head, d_head]
    W_K: np.ndarray
    b_K: np.ndarray
    W_V: np.ndarray
    b_V: np.ndarray
    W_O: np.ndarray  # [head, d_head, d_model]
    b_O: np.ndarray  # [d_model]
    attn_scale: float
    eps: float

    @classmethod
    def from_backend(cls, raw: dict) -> "HeadWeights":
        """Refuse what this maths does not reproduce exactly (a sentence for the UI, not a wrong number)."""
        if raw["normalization"] != "LNPre" or raw["positional"] != "standard" or raw.get("n_kv_heads"):
            raise BadInput("This view recomputes heads for GPT-2-style models loaded with fold_ln (LayerNorm folded, "
                           f"learned positions); this model has {raw['normalization']} normalisation and "
                           f"{raw['positional']} positions.")
        return cls(**{k: raw[k] for k in cls.__dataclass_fields__})

    @property
    def n_heads(self) -> int:
        return self.W_Q.shape[0]


def centre(x: np.ndarray) -> np.ndarray:
    """[..., d] minus its mean over d: the linear half of LayerNorm."""
    return x - x.mean(-1, keepdims=True)


def ln_scale(x: np.ndarray, eps: float) -> np.ndarray:
    """[..., d] -> [..., 1] sigma of LNPre (population variance, eps inside the root)."""
    c = centre(x)
    return np.sqrt((c * c).mean(-1, keepdims=True) + eps)


def ln(x: np.ndarray, eps: float) -> np.ndarray:
    return centre(x) / ln_scale(x, eps)


def qkv(resid: np.ndarray, w: HeadWeights) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """resid [pos, d_model] (the layer's resid_pre) -> q, k, v each [head, pos, d_head]."""
    x = ln(np.asarray(resid, dtype=np.float64), w.eps)
    return tuple(np.einsum("pm,hmd->hpd", x, W) + b[:, None] for W, b in ((w.W_Q, w.b_Q), (w.W_K, w.b_K), (w.W_V, w.b_V)))


def scores(q: np.ndarray, k: np.ndarray, attn_scale: float) -> np.ndarray:
    """[head, q_pos, d_head] x [head, k_pos, d_head] -> pre-softmax scores [head, q_pos, k_pos], -inf above the
    diagonal (causal mask)."""
    s = np.einsum("hqd,hkd->hqk", q, k) / attn_scale
    n_q, n_k = s.shape[-2:]
    future = np.triu(np.ones((n_q, n_k), dtype=bool), 1 + n_k - n_q)
    return np.where(future, -np.inf, s)


def softmax(s: np.ndarray) -> np.ndarray:
    e = np.exp(s - s.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def value_outputs(v: np.ndarray, w: HeadWeights) -> np.ndarray:
    """v [head, pos, d_head] -> what each key position would write through W_O: [head, pos, d_model]."""
    return np.einsum("hpd,hdm->hpm", v, w.W_O)


def sent_norms(resid: np.ndarray, w: HeadWeights) -> np.ndarray:
    """||v_j W_O|| for every head and key position: [head, pos], the size of what a key sends at full weight."""
    _, _, v = qkv(resid, w)
    return np.linalg.norm(value_outputs(v, w), axis=-1)


def value_weighted_norms(resid: np.ndarray, pattern: np.ndarray, w: HeadWeights) -> np.ndarray:
    """||a_ij v_j W_O|| for every head, query i and key j: [head, q, k] (0 where masked).

    The attention weight says how much of key j's value the query takes; this says how large a vector that
    actually moves into the residual stream. A key that gets most of the weight but carries a near-zero value
    moves little: BOS, the usual 'attention sink', often carries a small value (Kobayashi et al. 2020,
    "Attention is not only a weight")."""
    return np.asarray(pattern, dtype=np.float64) * sent_norms(resid, w)[:, None, :]


def head_outputs(resid: np.ndarray, pattern: np.ndarray, w: HeadWeights, pos: int) -> np.ndarray:
    """Each head's output at one position, z W_O (b_O excluded): [head, d_model], from the trace's pattern."""
    _, _, v = qkv(resid[: pos + 1], w)
    a = np.asarray(pattern, dtype=np.float64)[:, pos, : pos + 1]  # [head, k]
    return np.einsum("hk,hkm->hm", a, value_outputs(v, w))
