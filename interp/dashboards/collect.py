"""Run the model over token windows once and keep every SAE's activations sparse (torch; offline only).

The embedded SAEs are TopK SAEs (k=32), so the k largest latents per token are all of its non-zero ones:
the sparse form below is exact for them, and for other SAEs it keeps the `keep` largest per token.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SparseActs:
    """One SAE's activations over windows [n, ctx]: latent ids and values of the top `keep` per token.

    idx, val: [n, ctx, keep]; BOS positions (column 0) have val 0 (sae-lens excludes BOS from training)."""

    idx: np.ndarray  # int32
    val: np.ndarray  # float32
    d_sae: int

    def by_feature(self):
        """(order, starts): flat token indices grouped by feature. For feature f, its non-zero entries are
        flat positions pos[starts[f]:starts[f+1]] (ascending) with values vals[...]. Flat position = row * ctx + col."""
        n, ctx, keep = self.idx.shape
        flat_pos = np.repeat(np.arange(n * ctx), keep)
        feats, vals = self.idx.reshape(-1), self.val.reshape(-1)
        nz = vals > 0
        feats, vals, flat_pos = feats[nz], vals[nz], flat_pos[nz]
        order = np.lexsort((flat_pos, feats))  # by feature, then position
        starts = np.searchsorted(feats[order], np.arange(self.d_sae + 1))
        return flat_pos[order], vals[order], starts

    def csr(self):
        """scipy CSR [n * ctx, d_sae] of the activations."""
        from scipy import sparse

        n, ctx, keep = self.idx.shape
        rows = np.repeat(np.arange(n * ctx), keep)
        vals = self.val.reshape(-1)
        nz = vals > 0
        return sparse.csr_matrix((vals[nz], (rows[nz], self.idx.reshape(-1)[nz])), shape=(n * ctx, self.d_sae))


def collect(model, saes: dict, windows: np.ndarray, batch: int = 32, keep: int = 32) -> dict[str, SparseActs]:
    """{sae id: SparseActs} for every SAE over windows [n, ctx] (one forward pass per batch for all SAEs)."""
    import torch

    hooks = {sid: sae.cfg.metadata.hook_name for sid, sae in saes.items()}
    idx = {sid: [] for sid in saes}
    val = {sid: [] for sid in saes}
    with torch.no_grad():
        for i in range(0, len(windows), batch):
            x = torch.from_numpy(windows[i:i + batch])
            _, cache = model.run_with_cache(x, names_filter=lambda n: n in set(hooks.values()))
            for sid, sae in saes.items():
                f = sae.encode(cache[hooks[sid]])  # [b, ctx, d_sae]
                top = f.topk(min(keep, f.shape[-1]), dim=-1)
                v = top.values.clamp_min(0)
                v[:, 0] = 0  # BOS
                idx[sid].append(top.indices.to(torch.int32).numpy())
                val[sid].append(v.float().numpy())
    return {sid: SparseActs(np.concatenate(idx[sid]), np.concatenate(val[sid]), saes[sid].cfg.d_sae) for sid in saes}
