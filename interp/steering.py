"""Hook functions that push SAE features into the residual stream (torch; imported by the backend only).

Each hook acts on positions >= start of its FeatureSteer. During cached generation a decode step sees a
sequence of length 1, so the hook is told the absolute offset of its first position (`pos_offset`) and
steers that step too: generated tokens are never skipped.
"""
from __future__ import annotations

from collections.abc import Callable

from interp.requests import FeatureSteer


def steer_hook(steer: FeatureSteer, sae, pos_offset: Callable[[], int] = lambda: 0):
    """Return hook(act [batch, pos, d_model], hook) -> act for one FeatureSteer."""
    import torch

    direction = sae.W_dec[steer.feature].detach()  # [d_model]

    def positions(act):
        offset = pos_offset()
        first = max(0, steer.start - offset)
        last = act.shape[1] if steer.end is None else max(first, min(act.shape[1], steer.end - offset))
        return slice(first, last)

    def add(act, hook):
        act = act.clone()
        act[:, positions(act)] += steer.alpha * direction
        return act

    def set_feature(act, hook):
        value = 0.0 if steer.mode == "ablate" else steer.alpha
        sl = positions(act)
        x = act[:, sl]
        with torch.no_grad():
            feats = sae.encode(x)
            changed = feats.clone()
            changed[..., steer.feature] = value
            # x' = x + decode(f') - decode(f): the SAE's reconstruction error is kept untouched
            delta = sae.decode(changed) - sae.decode(feats)
        act = act.clone()
        act[:, sl] = x + delta
        return act

    return add if steer.mode == "add" else set_feature


def steering_hooks(steering: tuple[FeatureSteer, ...], sae_for, pos_offset=lambda: 0) -> list[tuple[str, Callable]]:
    """[(hook_name, fn)] for TransformerLens `model.hooks(fwd_hooks=...)`; sae_for(sae_id) -> loaded SAE."""
    out = []
    for s in steering:
        sae = sae_for(s.sae)
        out.append((sae.cfg.metadata.hook_name, steer_hook(s, sae, pos_offset)))
    return out
