"""Plan C for the embedded model: give layer 0 a previous-token head by construction, then train on.

Learning a previous-token head from scratch needs the positional embeddings to become shift-friendly
first, which CPU-minute budgets did not reach (see MODEL_CARD.md). Here W_Q and W_K of one layer-0
head are set so that the query at position t matches the key at position t-1: with m_p the mean layer-0
attention input at position p (token content averaged out), we solve m_t^T M m_s ~ beta [s == t-1] by least
squares and factor M to rank d_head (W_Q = U sqrt(S), W_K = V sqrt(S)). Its value/output weights are left
as trained. Training continues afterwards, so any induction head that appears is learned, not wired.
"""
from __future__ import annotations

import numpy as np


def positional_means(model, windows: np.ndarray) -> np.ndarray:
    """[n_ctx, d_model] mean of LN1(x) at the input of layer 0, per position, over text windows."""
    import torch

    block = model.transformer.h[0]
    with torch.no_grad():
        x = torch.from_numpy(windows)
        h = model.transformer.wte(x) + model.transformer.wpe(torch.arange(x.shape[1]))[None]
        return block.ln_1(h).mean(0).numpy()


def wire_previous_token_head(model, windows: np.ndarray, head: int, beta: float = 40.0) -> dict:
    import torch

    cfg = model.config
    d, dh = cfg.n_embd, cfg.n_embd // cfg.n_head
    m = positional_means(model, windows).astype(np.float64)  # [T, d]
    T = m.shape[0]
    shift = np.eye(T, k=-1) * beta  # target[t, s] = beta where s == t - 1
    pinv = np.linalg.pinv(m)  # [d, T]
    M = pinv @ shift @ pinv.T  # [d, d]: m @ M @ m.T ~ shift
    U, S, Vt = np.linalg.svd(M)
    wq = U[:, :dh] * np.sqrt(S[:dh])
    wk = Vt[:dh].T * np.sqrt(S[:dh])
    scale = np.sqrt(dh)  # HF divides scores by sqrt(d_head)
    with torch.no_grad():
        W = model.transformer.h[0].attn.c_attn.weight  # Conv1D [d, 3d]: q | k | v
        b = model.transformer.h[0].attn.c_attn.bias
        sl = slice(head * dh, (head + 1) * dh)
        W[:, sl] = torch.from_numpy(wq * np.sqrt(scale)).float()
        W[:, d + head * dh: d + (head + 1) * dh] = torch.from_numpy(wk * np.sqrt(scale)).float()
        b[sl] = 0.0
        b[d + head * dh: d + (head + 1) * dh] = 0.0
    achieved = m @ M @ m.T
    return {"head": head, "beta": beta, "fit_diag_mean": float(np.diag(achieved, -1).mean()),
            "fit_offdiag_abs_mean": float(np.abs(np.tril(achieved, -2)).mean())}
