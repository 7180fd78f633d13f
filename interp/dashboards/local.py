"""What a feature view can compute locally for any SAE, hub ones included (torch, no forward pass)."""
from __future__ import annotations

import torch


def similar_features(backend, sae_id: str, feature: int, k: int = 5) -> list[tuple[int, float]]:
    """The k nearest features of the same SAE by decoder cosine (the feature itself excluded)."""
    with torch.no_grad():
        w = backend.sae(sae_id).W_dec.float()  # [d_sae, d_model]
        w = w / w.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        cos = w @ w[feature]
        cos[feature] = -float("inf")
        top = cos.topk(min(k, len(cos) - 1))
    return [(int(i), float(c)) for i, c in zip(top.indices, top.values)]
