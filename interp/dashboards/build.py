"""Feature dashboard arrays for one SAE, from its sparse activations over token windows (pure numpy + scipy).

Per feature: the N_TOP strongest contexts and PER_BAND random contexts from each quantile band of its
non-zero activations (each context: LEFT tokens, the token, RIGHT tokens, with the feature's activation
at every one of them), a histogram of its non-zero activations, its firing density, its top +/- logits
(W_dec @ W_U), its nearest features by decoder cosine, and per token the features most active on it.
"""
from __future__ import annotations

import numpy as np

from interp.dashboards.collect import SparseActs

LEFT, RIGHT = 15, 4
WIDTH = LEFT + 1 + RIGHT
N_TOP = 20
BANDS = (0.0, 0.25, 0.5, 0.75, 0.95)  # quantiles of the non-zero activations; the top 5 % are the top contexts
PER_BAND = 4
N_CONTEXTS = N_TOP + (len(BANDS) - 1) * PER_BAND
HIST_BINS = 24
N_LOGITS = 10
N_SIMILAR = 5
TOKEN_TOP = 8


def context_slots(v: np.ndarray, rng) -> list[int]:
    """Indices into a feature's activations v: N_TOP strongest, then PER_BAND per band (-1 = empty slot)."""
    order = np.argsort(-v, kind="stable")
    slots = list(order[:N_TOP]) + [-1] * max(0, N_TOP - len(order))
    q = np.quantile(v, BANDS)
    for b in range(len(BANDS) - 1):
        upper = v < q[b + 1] if b < len(BANDS) - 2 else v <= q[b + 1]
        in_band = np.nonzero((v >= q[b]) & upper)[0]
        pick = rng.choice(in_band, min(PER_BAND, len(in_band)), replace=False) if len(in_band) else []
        pick = sorted(pick, key=lambda j: -v[j])
        slots += list(pick) + [-1] * (PER_BAND - len(pick))
    return slots


def feature_arrays(acts: SparseActs, windows: np.ndarray, seed: int = 0) -> dict[str, np.ndarray]:
    n, ctx = windows.shape
    pos, vals, starts = acts.by_feature()
    F = acts.d_sae
    out = {
        "ctx_tokens": np.full((F, N_CONTEXTS, WIDTH), -1, np.int16),  # [feature, context, token]; -1 = none
        "ctx_acts": np.zeros((F, N_CONTEXTS, WIDTH), np.float16),
        "band_edges": np.zeros((F, len(BANDS)), np.float32),
        "hist": np.zeros((F, HIST_BINS), np.int32),  # bins split (0, max_act] evenly
        "max_act": np.zeros(F, np.float32),
        "density": np.zeros(F, np.float32),  # share of non-BOS tokens where the feature is non-zero
        # the whole window of the strongest context (tests rerun the model on it: a direct recomputation)
        "top_row": np.full((F, ctx), -1, np.int16),
        "top_col": np.full(F, -1, np.int16),
    }
    n_body = n * (ctx - 1)
    rng = np.random.default_rng(seed)
    for f in range(F):
        p, v = pos[starts[f]:starts[f + 1]], vals[starts[f]:starts[f + 1]]
        if not len(p):
            continue
        out["density"][f] = len(p) / n_body
        out["max_act"][f] = v.max()
        out["hist"][f] = np.histogram(v, bins=HIST_BINS, range=(0.0, float(v.max())))[0]
        out["band_edges"][f] = np.quantile(v, BANDS)
        for c, j in enumerate(context_slots(v, rng)):
            if j < 0:
                continue
            row, col = divmod(int(p[j]), ctx)
            if c == 0:
                out["top_row"][f], out["top_col"][f] = windows[row], col
            lo, hi = max(1, col - LEFT), min(ctx, col + RIGHT + 1)  # BOS not shown
            s = LEFT - (col - lo)
            out["ctx_tokens"][f, c, s:s + hi - lo] = windows[row, lo:hi]
            flat = row * ctx + np.arange(lo, hi)
            k = np.searchsorted(p, flat)
            hit = (k < len(p)) & (p[np.minimum(k, len(p) - 1)] == flat)
            out["ctx_acts"][f, c, s:s + hi - lo] = np.where(hit, v[np.minimum(k, len(p) - 1)], 0.0)
    return out


def _unit(w: np.ndarray) -> np.ndarray:
    return w / np.maximum(np.linalg.norm(w, axis=-1, keepdims=True), 1e-12)


def logit_arrays(w_dec: np.ndarray, w_u: np.ndarray) -> dict[str, np.ndarray]:
    """Direct effect of each decoder direction on the logits: W_dec @ W_U (final LayerNorm scale ignored)."""
    eff = w_dec @ w_u  # [feature, vocab]
    up = np.argsort(-eff, axis=1)[:, :N_LOGITS]
    down = np.argsort(eff, axis=1)[:, :N_LOGITS]
    return {"logit_up_ids": up.astype(np.int16), "logit_up": np.take_along_axis(eff, up, 1).astype(np.float32),
            "logit_down_ids": down.astype(np.int16), "logit_down": np.take_along_axis(eff, down, 1).astype(np.float32)}


def similar_arrays(w_dec: np.ndarray, live: np.ndarray) -> dict[str, np.ndarray]:
    """The N_SIMILAR nearest live features (non-zero on the label text) in the same SAE by decoder cosine
    (itself excluded): dead latents' decoders point along common directions and would crowd the list."""
    u = _unit(w_dec)
    cos = u @ u.T
    cos[:, ~live] = -np.inf
    np.fill_diagonal(cos, -np.inf)
    ids = np.argsort(-cos, axis=1)[:, :N_SIMILAR]
    return {"similar_ids": ids.astype(np.int16), "similar_cos": np.take_along_axis(cos, ids, 1).astype(np.float32)}


def lineage_arrays(prefix: str, w_dec: np.ndarray, w_other: np.ndarray, x, x_other) -> dict[str, np.ndarray]:
    """Best live match of every feature in another layer's SAE: by decoder cosine, and by co-activation (cosine
    of the two features' activation vectors over the same tokens). x, x_other: CSR [tokens, d_sae]."""
    live_other = np.asarray((x_other > 0).sum(0)).ravel() > 0
    dec = _unit(w_dec) @ _unit(w_other).T  # [feature, other]
    dec[:, ~live_other] = -np.inf
    co = (x.T @ x_other).toarray()
    na = np.sqrt(np.asarray(x.multiply(x).sum(0))).ravel()
    nb = np.sqrt(np.asarray(x_other.multiply(x_other).sum(0))).ravel()
    co = co / np.maximum(np.outer(na, nb), 1e-12)
    d_id, c_id = dec.argmax(1), co.argmax(1)
    rows = np.arange(len(dec))
    return {f"{prefix}_dec_id": d_id.astype(np.int16), f"{prefix}_dec_cos": dec[rows, d_id].astype(np.float32),
            f"{prefix}_coact_id": c_id.astype(np.int16), f"{prefix}_coact": co[rows, c_id].astype(np.float32)}


def token_index(x, windows: np.ndarray, vocab: int, max_act: np.ndarray) -> dict[str, np.ndarray]:
    """Per vocabulary token: the TOKEN_TOP features most about it, for search by token. A feature's score for
    token v is (share of its total activation that falls on v) x (its mean activation on v / its max): a
    feature that fires everywhere has a small share on any one token, and one that touched v once, weakly,
    has a small mean. Stored: the mean activation on the token (non-BOS positions of the label text)."""
    from scipy import sparse

    n, ctx = windows.shape
    flat = windows.reshape(-1)
    body = np.tile(np.arange(ctx) > 0, n)
    rows = np.nonzero(body)[0]
    onehot = sparse.csr_matrix((np.ones(len(rows), np.float32), (flat[rows], rows)), shape=(vocab, n * ctx))
    total = (onehot @ x).toarray()  # [vocab, feature] summed activation
    count = np.bincount(flat[rows], minlength=vocab)
    mean = total / np.maximum(count, 1)[:, None]
    score = total / np.maximum(total.sum(0), 1e-12) * mean / np.maximum(max_act, 1e-12)
    ids = np.argsort(-score, axis=1)[:, :TOKEN_TOP]
    val = np.take_along_axis(mean, ids, 1)
    ids = np.where(np.take_along_axis(score, ids, 1) > 0, ids, -1)
    return {"token_feat_ids": ids.astype(np.int16), "token_feat_mean": val.astype(np.float16),
            "token_count": count.astype(np.int32)}
