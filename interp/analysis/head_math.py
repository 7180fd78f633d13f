"""One attention head recomputed from the residual stream and the weights (pure numpy, float64).

Two families, read from the weights TransformerLens holds (backend.head_weights(layer)):
- GPT-2 style, loaded with fold_ln (LNPre): a head reads LN(x) = centre(x) / sigma(x),
  sigma(x) = sqrt(mean(centre(x)^2) + eps), with learned absolute positions already in the residual.
- Gemma 2 style (RMS, as Gemma Scope's unprocessed load keeps it): a head reads RMS(x) = x / rms(x) * w_ln1,
  rms(x) = sqrt(mean(x^2) + eps); q and k are rotated by their position (rotary, applied after the bias);
  the scaled score is soft-capped, cap * tanh(s / cap); local layers mask keys more than `window - 1` back;
  key/value heads are shared by groups of query heads (grouped-query attention; TL's W_K and W_V already
  repeat each key/value head over its group); what the layer writes, z W_O + b_O summed over heads, passes a
  second RMSNorm (ln1_post) before it is added to the residual.
Then q = norm(x) W_Q + b_Q, k = norm(x) W_K + b_K, v = norm(x) W_V + b_V, scores = q.k / attn_scale, the mask,
a softmax over keys, z = sum_j a_j v_j and out = z W_O. Everything starts from the residuals kept in the Trace
(resid_stack[layer] is the head's input), so no forward pass runs. Tests compare each step with TransformerLens's
own hooks (GPT-2: tests/test_head_detail.py; Gemma 2: tests/test_gemma_path.py).

Both norms are linear once their scale is frozen at its actual value: norm_linear(v, x) applies the norm of x's
position to a part v of x, and norm_linear(x, x) == norm(x). The QK split and the logit attribution rest on that.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from interp.errors import BadInput

NORMS = {"LNPre": "LayerNorm", "RMS": "RMSNorm"}


@dataclass(frozen=True)
class HeadWeights:
    """One layer's attention weights (backend.head_weights(layer)), float64."""

    W_Q: np.ndarray  # [head, d_model, d_head]
    b_Q: np.ndarray  # [head, d_head]
    W_K: np.ndarray  # [head, d_model, d_head] (key/value heads repeated over their query group)
    b_K: np.ndarray
    W_V: np.ndarray
    b_V: np.ndarray
    W_O: np.ndarray  # [head, d_head, d_model]
    b_O: np.ndarray  # [d_model]
    attn_scale: float
    eps: float
    normalization: str = "LNPre"  # LNPre | RMS
    ln_w: np.ndarray | None = None  # RMS: the input norm's weight [d_model]
    post_w: np.ndarray | None = None  # the norm after attention (Gemma 2 ln1_post) [d_model], None without one
    rotary_dim: int = 0  # 0: no rotary
    rotary_base: float = 10000.0
    rotary_adjacent_pairs: bool = False
    softcap: float = 0.0  # 0: scores are not soft-capped
    window: int = 0  # 0: global attention; else a key is visible if query - window < key <= query
    n_kv_heads: int = 0  # 0: one key/value head per query head

    @classmethod
    def from_backend(cls, raw: dict) -> "HeadWeights":
        """Refuse what this maths does not reproduce exactly (a sentence for the UI, not a wrong number)."""
        norm, positional = raw["normalization"], raw["positional"]
        ok = (norm == "LNPre" and positional == "standard") or (norm == "RMS" and positional == "rotary")
        if not ok or raw.get("unsupported"):
            why = raw.get("unsupported") or f"{norm} normalisation and {positional} positions"
            raise BadInput("This view recomputes heads for GPT-2-style models loaded with fold_ln (LayerNorm folded, "
                           "learned positions) and for Gemma-2-style ones (RMSNorm, rotary positions); this model "
                           f"has {why}.")
        return cls(**{k: raw[k] for k in cls.__dataclass_fields__ if k in raw})

    @property
    def n_heads(self) -> int:
        return self.W_Q.shape[0]

    @property
    def norm_name(self) -> str:
        return NORMS[self.normalization]

    def kv_head(self, head: int) -> int:
        """The key/value head that query head `head` reads (TL and HF repeat each one over a contiguous group)."""
        return head // (self.n_heads // self.n_kv_heads) if self.n_kv_heads else head

    def visible(self, query: int, key: int) -> bool:
        return key <= query and (not self.window or key > query - self.window)

    def notes(self, head: int | None = None) -> tuple[str, ...]:
        """What differs from a plain GPT-2 head, in sentences for the UI."""
        out = []
        if self.rotary_dim:
            out.append(f"Positions enter as a rotation of q and k (rotary, first {self.rotary_dim} dimensions), "
                       "not as a part of the residual.")
        if self.n_kv_heads and self.n_kv_heads != self.n_heads:
            group = self.n_heads // self.n_kv_heads
            kv = f" (this head reads key/value head {self.kv_head(head)})" if head is not None else ""
            out.append(f"Grouped-query attention: {group} query heads share each key/value head{kv}.")
        if self.window:
            out.append(f"Local layer: a query sees only its last {self.window} keys (sliding window).")
        if self.softcap:
            out.append(f"Scores are soft-capped, {self.softcap:g}·tanh(s/{self.softcap:g}), before the softmax.")
        if self.post_w is not None:
            out.append("What the layer writes passes a second RMSNorm (after attention) before it joins the residual.")
        return tuple(out)


def centre(x: np.ndarray) -> np.ndarray:
    """[..., d] minus its mean over d: the linear half of LayerNorm."""
    return x - x.mean(-1, keepdims=True)


def ln_scale(x: np.ndarray, eps: float) -> np.ndarray:
    """[..., d] -> [..., 1] sigma of LNPre (population variance, eps inside the root)."""
    c = centre(x)
    return np.sqrt((c * c).mean(-1, keepdims=True) + eps)


def rms_scale(x: np.ndarray, eps: float) -> np.ndarray:
    """[..., d] -> [..., 1] the RMSNorm scale sqrt(mean(x^2) + eps)."""
    x = np.asarray(x, np.float64)
    return np.sqrt((x * x).mean(-1, keepdims=True) + eps)


def norm_linear(v: np.ndarray, x: np.ndarray, w: HeadWeights) -> np.ndarray:
    """The input norm applied to a part v [..., d] of the residual x [d] (or [pos, d] matching v), with x's scale
    frozen: linear in v, and norm_linear(x, x) is the norm itself."""
    v = np.asarray(v, np.float64)
    if w.normalization == "LNPre":
        return centre(v) / ln_scale(np.asarray(x, np.float64), w.eps)
    return v / rms_scale(x, w.eps) * w.ln_w


def normed(x: np.ndarray, w: HeadWeights) -> np.ndarray:
    return norm_linear(x, x, w)


def rotary_tables(positions, w: HeadWeights) -> tuple[np.ndarray, np.ndarray]:
    """(sin, cos) [pos, rotary_dim] as TransformerLens builds them (GPT-NeoX halves or GPT-J adjacent pairs)."""
    half = w.rotary_dim // 2
    freq = w.rotary_base ** (np.arange(half, dtype=np.float64) / half)
    freq = np.repeat(freq, 2) if w.rotary_adjacent_pairs else np.tile(freq, 2)
    angles = np.asarray(positions, np.float64).reshape(-1)[:, None] / freq[None]
    return np.sin(angles), np.cos(angles)


def rotate(x: np.ndarray, positions, w: HeadWeights) -> np.ndarray:
    """Rotary: x [..., pos, d_head] rotated by the angle of each position (a no-op without rotary). Linear in x,
    so a sum of parts rotates part by part."""
    if not w.rotary_dim:
        return x
    sin, cos = rotary_tables(positions, w)
    r = w.rotary_dim
    head, rest = x[..., :r], x[..., r:]
    flip = np.empty_like(head)
    if w.rotary_adjacent_pairs:
        flip[..., ::2], flip[..., 1::2] = -head[..., 1::2], head[..., ::2]
    else:
        flip[..., : r // 2], flip[..., r // 2 :] = -head[..., r // 2 :], head[..., : r // 2]
    return np.concatenate([head * cos + flip * sin, rest], axis=-1)


def qkv(resid: np.ndarray, w: HeadWeights) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """resid [pos, d_model] (the layer's resid_pre, positions 0..pos-1) -> q, k (rotated), v each
    [head, pos, d_head]."""
    x = normed(np.asarray(resid, dtype=np.float64), w)
    q, k, v = (np.einsum("pm,hmd->hpd", x, W) + b[:, None] for W, b in ((w.W_Q, w.b_Q), (w.W_K, w.b_K), (w.W_V, w.b_V)))
    positions = np.arange(x.shape[0])
    return rotate(q, positions, w), rotate(k, positions, w), v


def cap(s: np.ndarray, w: HeadWeights) -> np.ndarray:
    """The soft-cap of scaled scores (identity without one)."""
    return w.softcap * np.tanh(s / w.softcap) if w.softcap else s


def mask(n_q: int, n_k: int, w: HeadWeights) -> np.ndarray:
    """[n_q, n_k] True where a key is hidden: the last n_q of n_k positions query (causal, then the window)."""
    qpos = np.arange(n_k - n_q, n_k)[:, None]
    kpos = np.arange(n_k)[None]
    hidden = kpos > qpos
    if w.window:
        hidden |= kpos <= qpos - w.window
    return hidden


def scores(q: np.ndarray, k: np.ndarray, w: HeadWeights) -> np.ndarray:
    """[head, q_pos, d_head] x [head, k_pos, d_head] -> the scores the softmax reads [head, q_pos, k_pos]:
    q.k / attn_scale, soft-capped, -inf where masked (the queries are the last q_pos of the k_pos positions)."""
    s = cap(np.einsum("hqd,hkd->hqk", q, k) / w.attn_scale, w)
    return np.where(mask(*s.shape[-2:], w), -np.inf, s)


def softmax(s: np.ndarray) -> np.ndarray:
    e = np.exp(s - s.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def value_outputs(v: np.ndarray, w: HeadWeights) -> np.ndarray:
    """v [head, pos, d_head] -> what each key position would write through W_O: [head, pos, d_model] (before any
    norm after attention)."""
    return np.einsum("hpd,hdm->hpm", v, w.W_O)


def attn_out(resid: np.ndarray, pattern: np.ndarray, w: HeadWeights) -> np.ndarray:
    """The layer's attention output before any post-norm, sum_h z_h W_O + b_O: [pos, d_model]."""
    _, _, v = qkv(resid, w)
    return np.einsum("hqk,hkm->qm", np.asarray(pattern, np.float64), value_outputs(v, w)) + w.b_O


def post_scale(resid: np.ndarray, pattern: np.ndarray, w: HeadWeights) -> np.ndarray:
    """[pos, d_model] multiplier of the norm after attention with each position's scale frozen: w_post / rms of
    that position's attention output (ones without a post-norm)."""
    if w.post_w is None:
        return np.ones((len(resid), w.W_O.shape[-1]))
    return w.post_w[None] / rms_scale(attn_out(resid, pattern, w), w.eps)


def sent_norms(resid: np.ndarray, w: HeadWeights) -> np.ndarray:
    """||v_j W_O|| for every head and key position: [head, pos], the size of what a key sends at full weight
    (before any norm after attention)."""
    _, _, v = qkv(resid, w)
    return np.linalg.norm(value_outputs(v, w), axis=-1)


def value_weighted_norms(resid: np.ndarray, pattern: np.ndarray, w: HeadWeights) -> np.ndarray:
    """||a_ij v_j W_O|| for every head, query i and key j: [head, q, k] (0 where masked); with a norm after
    attention, ||a_ij (v_j W_O) * post_scale_i||, what actually reaches the residual at query i.

    The attention weight says how much of key j's value the query takes; this says how large a vector that
    actually moves into the residual stream. A key that gets most of the weight but carries a near-zero value
    moves little: BOS, the usual 'attention sink', often carries a small value (Kobayashi et al. 2020,
    "Attention is not only a weight")."""
    pattern = np.asarray(pattern, np.float64)
    if w.post_w is None:
        return pattern * sent_norms(resid, w)[:, None, :]
    _, _, v = qkv(resid, w)
    out = value_outputs(v, w)  # [head, k, d]
    scale = post_scale(resid, pattern, w)  # [q, d]
    return pattern * np.linalg.norm(out[:, None, :, :] * scale[None, :, None, :], axis=-1)


def head_outputs(resid: np.ndarray, pattern: np.ndarray, w: HeadWeights, pos: int) -> np.ndarray:
    """Each head's share of what the layer writes at one position, [head, d_model], from the trace's pattern:
    z_h W_O (b_O excluded), times the frozen post-norm scale where the model has one."""
    return written(resid, pattern, w, pos)[0]


def written(resid: np.ndarray, pattern: np.ndarray, w: HeadWeights, pos: int) -> tuple[np.ndarray, np.ndarray]:
    """(per head [head, d_model], bias [d_model]): what the attention layer adds to the residual at `pos`, split so
    that per_head.sum(0) + bias is exactly that (the post-norm, if any, is linear with its scale frozen)."""
    resid = np.asarray(resid, np.float64)[: pos + 1]
    _, _, v = qkv(resid, w)
    a = np.asarray(pattern, dtype=np.float64)[:, pos, : pos + 1]  # [head, k]
    per_head = np.einsum("hk,hkm->hm", a, value_outputs(v, w))
    if w.post_w is None:
        return per_head, w.b_O
    scale = w.post_w / rms_scale(per_head.sum(0) + w.b_O, w.eps)
    return per_head * scale, w.b_O * scale
