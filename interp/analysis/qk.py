"""Why a head attends from query i to key j: its pre-softmax score split over SAE features on both sides.

The head reads norm(x): LayerNorm centre(x) / sigma(x) for GPT-2 (folded), RMSNorm x / rms(x) * w for Gemma 2.
Freeze each position's scale at its actual value and the norm is linear, so with x_i = sum_a u_a (query side)
and x_j = sum_b w_b (key side):
    score(i, j) = R_i(norm(x_i) W_Q + b_Q) . R_j(norm(x_j) W_K + b_K) / attn_scale
                = sum_a sum_b Q_a . K_b / attn_scale,   Q_a = R_i(norm_i(u_a) W_Q)  (plus Q = R_i b_Q),
                                                         K_b = R_j(norm_j(w_b) W_K)  (plus K = R_j b_K),
where R_p is the rotary rotation of position p (the identity for GPT-2's learned positions): it is linear, so it
rotates each part. Each side's parts are the SAE at the head's input: active feature f contributes
decode(a_f e_f) - decode(0) (its decoder vector times its activation), decode(0) is the SAE's decoder bias, and
the SAE error is x - decode(a) (what the SAE misses). The only terms left over are the query and key biases.
At layer 0 the head reads the embeddings, and the parts are the token and the position embedding (a rotary model
has none: its positions are the rotation). The cells sum to the real scaled score (tests: within 1e-4 of TL's
hook_attn_scores for GPT-2 and Gemma 2); a soft-capped model (Gemma 2) then applies cap * tanh(score / cap),
which is monotone but not linear, so the split is of the score before the cap and the capped value is shown beside
it. The softmax of the recomputed (capped, masked) row reproduces the trace's pattern.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from interp import hooks
from interp.analysis.head_math import HeadWeights, cap, norm_linear, qkv, rotate, scores, softmax
from interp.errors import BadInput

GROUPS = ("features", "SAE error", "SAE decoder bias", "token embedding", "position embedding", "rest", "bias")


@dataclass(frozen=True)
class Parts:
    """One position's residual as a sum of named vectors."""

    names: tuple[str, ...]
    groups: tuple[str, ...]  # one of GROUPS (but "bias", which the split adds)
    features: tuple[int, ...]  # SAE latent id, -1 for other parts
    acts: np.ndarray  # [part] the feature's activation (NaN for other parts)
    vectors: np.ndarray  # [part, d_model] float64


def sae_for_layer(spec, layer: int):
    """The SAE reading the head's input (resid_pre of `layer`, which is resid_post of layer - 1), or None."""
    wanted = {hooks.resid_pre(layer)} | ({hooks.resid_post(layer - 1)} if layer > 0 else set())
    return next((s for s in spec.saes if s.hook in wanted), None)


def sae_parts(sae, x: np.ndarray) -> Parts:
    """x [d_model] -> active features (decoder direction x activation), decoder bias, SAE error (torch SAE)."""
    import torch

    with torch.no_grad():
        xt = torch.as_tensor(x, dtype=torch.float32)[None]
        acts = sae.encode(xt)[0]  # [d_sae]
        idx = torch.nonzero(acts > 0).flatten()
        idx = idx[acts[idx].argsort(descending=True)]
        zero = sae.decode(torch.zeros(1, acts.shape[0]))[0].double()
        eye = torch.zeros(len(idx), acts.shape[0])
        eye[torch.arange(len(idx)), idx] = acts[idx]
        per_feature = (sae.decode(eye).double() - zero) if len(idx) else torch.zeros(0, x.shape[-1], dtype=torch.float64)
    f_vecs, zero = per_feature.numpy(), zero.numpy()
    error = np.asarray(x, np.float64) - zero - f_vecs.sum(0)
    n = len(idx)
    return Parts(names=tuple(f"feature {int(i)}" for i in idx) + ("SAE error", "SAE decoder bias"),
                 groups=("features",) * n + ("SAE error", "SAE decoder bias"),
                 features=tuple(int(i) for i in idx) + (-1, -1),
                 acts=np.concatenate([acts[idx].double().numpy(), [np.nan, np.nan]]),
                 vectors=np.vstack([f_vecs.reshape(n, len(zero)), error[None], zero[None]]))


def embedding_parts(x: np.ndarray, tok: np.ndarray, pos: np.ndarray) -> Parts:
    """Layer 0's input: token embedding + position embedding (+ anything else, shown, should be ~0). A rotary
    model has no position embedding (pos has 0 columns): its parts are the token embedding and the rest."""
    if not np.asarray(pos).size:
        rest = np.asarray(x, np.float64) - tok
        return Parts(names=("token embedding", "rest"), groups=("token embedding", "rest"), features=(-1, -1),
                     acts=np.full(2, np.nan), vectors=np.vstack([tok, rest]))
    rest = np.asarray(x, np.float64) - tok - pos
    return Parts(names=("token embedding", "position embedding", "rest"),
                 groups=("token embedding", "position embedding", "rest"), features=(-1, -1, -1),
                 acts=np.full(3, np.nan), vectors=np.vstack([tok, pos, rest]))


@dataclass(frozen=True)
class QKSplit:
    layer: int
    head: int
    query: int
    key: int
    source: str  # which decomposition: "SAE <id> (reads <hook>)" or "embeddings"
    sae: str | None
    q_parts: Parts
    k_parts: Parts
    cells: np.ndarray  # [q part + 1, k part + 1]: the last row is b_Q, the last column b_K
    score: float  # the head's scaled score q.k / attn_scale recomputed directly (no split), before any soft-cap
    pattern_error: float  # max |softmax(recomputed row) - trace's pattern row|
    capped: float | None = None  # cap * tanh(score / cap), what the softmax reads, for a soft-capped model
    notes: tuple[str, ...] = ()  # what differs from a GPT-2 head (rotary, grouped-query, window, soft-cap, norm)
    norm_name: str = "LayerNorm"

    @property
    def total(self) -> float:
        return float(self.cells.sum())

    @property
    def residual(self) -> float:
        return self.total - self.score

    def _axis(self, parts: Parts, bias: str):
        return (parts.names + (bias,), parts.groups + ("bias",), parts.features + (-1,))

    def pairs(self, labels: dict | None = None) -> pd.DataFrame:
        """Every cell, largest |contribution| first: query part, key part, contribution, labels."""
        labels = labels or {}
        qn, qg, qf = self._axis(self.q_parts, "query bias b_Q")
        kn, kg, kf = self._axis(self.k_parts, "key bias b_K")
        i, j = np.meshgrid(np.arange(len(qn)), np.arange(len(kn)), indexing="ij")
        i, j = i.ravel(), j.ravel()
        lab = lambda f: labels.get(str(f), {}).get("label", "") if f >= 0 else ""  # noqa: E731
        df = pd.DataFrame({"query part": [qn[a] for a in i], "query label": [lab(qf[a]) for a in i],
                           "key part": [kn[b] for b in j], "key label": [lab(kf[b]) for b in j],
                           "contribution": self.cells.ravel(), "query group": [qg[a] for a in i],
                           "key group": [kg[b] for b in j]})
        return df.reindex(df["contribution"].abs().sort_values(ascending=False).index).reset_index(drop=True)

    def feature_pairs(self, labels: dict | None = None, n: int = 10) -> pd.DataFrame:
        df = self.pairs(labels)
        df = df[(df["query group"] == "features") & (df["key group"] == "features")].head(n).copy()
        df["share of score"] = df["contribution"] / self.score if self.score else np.nan
        return df.reset_index(drop=True)

    def groups(self) -> pd.DataFrame:
        """Query-side group x key-side group sums (rows and columns in GROUPS order, absent groups dropped)."""
        df = self.pairs()
        table = df.pivot_table(index="query group", columns="key group", values="contribution", aggfunc="sum")
        order = [g for g in GROUPS if g in table.index], [g for g in GROUPS if g in table.columns]
        return table.reindex(index=order[0], columns=order[1])

    @property
    def feature_total(self) -> float:
        """Sum of the feature x feature cells (NaN without an SAE)."""
        if self.sae is None:
            return float("nan")
        qf = np.array([g == "features" for g in self.q_parts.groups] + [False])
        kf = np.array([g == "features" for g in self.k_parts.groups] + [False])
        return float(self.cells[np.ix_(qf, kf)].sum())

    @property
    def feature_share(self) -> float:
        """Share of the score carried by feature x feature cells (NaN without an SAE or for a zero score)."""
        return self.feature_total / self.score if self.score else float("nan")

    @property
    def key_independent(self) -> float:
        """The b_K column: the same for every key of this query, so it shifts the row and does not move attention."""
        return float(self.cells[:, -1].sum())


def split_cells(q_parts: Parts, k_parts: Parts, x_q: np.ndarray, x_k: np.ndarray, w: HeadWeights, head: int,
                query: int = 0, key: int = 0) -> np.ndarray:
    """[q part + 1, k part + 1] bilinear cells, each position's norm scale frozen at its value and each side rotated
    by its own position (rotary models; `query` and `key` are the positions)."""
    Q = norm_linear(q_parts.vectors, x_q, w) @ w.W_Q[head]  # [part, d_head]
    K = norm_linear(k_parts.vectors, x_k, w) @ w.W_K[head]
    Q, K = np.vstack([Q, w.b_Q[head]]), np.vstack([K, w.b_K[head]])
    Q, K = rotate(Q, [query], w), rotate(K, [key], w)
    return Q @ K.T / w.attn_scale


def qk_split(backend, trace, layer: int, head: int, query: int, key: int) -> QKSplit:
    """The split for one cell of a cached trace: weights from the backend, residuals from the trace."""
    if not (0 <= layer < trace.n_layers and 0 <= head < trace.n_heads):
        raise BadInput(f"Layer {layer} head {head} does not exist (the model has {trace.n_layers} layers of "
                       f"{trace.n_heads} heads).")
    if not (0 <= key <= query < trace.n_pos):
        raise BadInput(f"Query {query} and key {key} must satisfy 0 <= key <= query < {trace.n_pos} (causal attention).")
    w = HeadWeights.from_backend(backend.head_weights(layer))
    if not w.visible(query, key):
        raise BadInput(f"Layer {layer} is a local layer: a query sees only its last {w.window} keys, so the query at "
                       f"position {query} cannot attend to position {key} (its score is masked). Pick a key from "
                       f"{query - w.window + 1} to {query}.")
    resid = np.asarray(trace.resid_stack[layer], np.float64)  # [pos, d_model] the head's input (resid_pre)
    spec = sae_for_layer(backend.spec, layer)
    if spec is not None:
        sae = backend.sae(spec.id)
        q_parts, k_parts = sae_parts(sae, resid[query]), sae_parts(sae, resid[key])
        same = "" if spec.hook == hooks.resid_pre(layer) else f" = resid_pre of layer {layer}"
        source = f"SAE {spec.id} (reads {spec.hook}{same})"
    elif layer == 0:
        tok, pos = backend.embeddings(trace.tokens)
        q_parts = embedding_parts(resid[query], tok[query], pos[query])
        k_parts = embedding_parts(resid[key], tok[key], pos[key])
        what = "token and position embeddings" if pos.shape[-1] else "token embeddings"
        source = f"embeddings (layer 0 reads the {what}; no SAE sits there)"
    else:
        raise BadInput(f"No SAE of this model reads layer {layer}'s input ({hooks.resid_pre(layer)}"
                       f" or {hooks.resid_post(layer - 1)}), so its score cannot be split into features.")
    cells = split_cells(q_parts, k_parts, resid[query], resid[key], w, head, query, key)
    q, k, _ = qkv(resid[: query + 1], w)
    raw = float(q[head, query] @ k[head, key] / w.attn_scale)
    row = scores(q[head : head + 1, query : query + 1], k[head : head + 1], w)[0, 0]  # [key] capped and masked
    pattern_error = float(np.abs(softmax(row) - trace.attention[layer, head, query, : query + 1]).max())
    return QKSplit(layer=layer, head=head, query=query, key=key, source=source, sae=spec.id if spec else None,
                   q_parts=q_parts, k_parts=k_parts, cells=cells, score=raw, pattern_error=pattern_error,
                   capped=float(cap(np.float64(raw), w)) if w.softcap else None, notes=w.notes(head),
                   norm_name=w.norm_name)


def contrast_pairs(a: QKSplit, b: QKSplit, labels: dict | None = None) -> pd.DataFrame:
    """score(i, j) - score(i, j') split into (query part, key part) cells, for two splits of the same query and head.

    The query side is the same in both, so each query part pairs with key parts matched by name (a feature active at
    only one of the two keys counts 0 at the other). The key bias b_K cancels. The rows sum exactly to
    a.score - b.score: what makes the head prefer key j over key j'. Largest |difference| first."""
    if (a.layer, a.head, a.query) != (b.layer, b.head, b.query):
        raise BadInput("A contrast compares two keys of the same query and head.")
    pa, pb = a.pairs(labels), b.pairs(labels)
    cols = ["query part", "key part"]
    both = pa.merge(pb, on=cols, how="outer", suffixes=("", " (other key)"))
    for c in ("query label", "key label", "query group", "key group"):
        both[c] = both[c].fillna(both[f"{c} (other key)"])
    both["difference"] = both["contribution"].fillna(0.0) - both["contribution (other key)"].fillna(0.0)
    both = both[["query part", "query label", "key part", "key label", "difference", "query group", "key group"]]
    return both.reindex(both["difference"].abs().sort_values(ascending=False).index).reset_index(drop=True)
