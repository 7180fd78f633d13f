"""Which components write an SAE feature: the feature's pre-activation split over embeddings, heads, MLPs.

The residual stream at the SAE's hook is a sum of component outputs:
    x[p] = embed[p] + pos_embed[p] + sum_{layers before the hook} (sum_h head_h[p] + b_O + mlp[p])
where head_h[p] = z[p, h] @ W_O[h] and z[p, h] = sum_s A[h, p, s] v[s, h]. The SAE's pre-activation for
feature f is affine in its processed input:
    pre[p, f] = r_f * ((norm(x[p]) - a * b_dec) @ W_enc[:, f] + b_enc[f])
(a = apply_b_dec_to_input, r_f = ||W_dec[f]|| when rescale_acts_by_decoder_norm, else 1). norm() is the
identity, or a scalar/centring map whose scale is frozen at this token's value (constant_norm_rescale,
layer_norm): then it is linear too and the split is exact. Each component's share is norm(output) @ w with
w = r_f * W_enc[:, f]; the constants form one "SAE bias" row. The rows sum to the pre-activation that
sae-lens itself computes (its hook_sae_acts_pre), which is checked on every call.
A head's share splits further over source tokens: A[h, p, s] * (v[s, h] @ W_O[h]) @ w.
Gemma 2 normalises the summed heads (RMSNorm ln1_post) before they join the residual; with that norm's scale
frozen at this token it is linear too, so each head's (and source token's) image goes through it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from interp import hooks
from interp.errors import BadInput

LINEAR_NORMS = ("none", "constant_norm_rescale", "layer_norm")


@dataclass(frozen=True)
class FeatureAttribution:
    """One feature at one token. components[i] has kind embed | pos_embed | head | attn_bias | mlp | attn | sae_bias."""

    model: str
    prompt: str
    sae: str
    feature: int
    pos: int
    token: str
    str_tokens: tuple[str, ...]
    names: tuple[str, ...]
    kinds: tuple[str, ...]
    layers: tuple[int, ...]  # -1 where no layer applies
    heads: tuple[int, ...]  # -1 where no head applies
    values: np.ndarray  # [component] shares of the pre-activation
    pre_activation: float  # sae-lens's hook_sae_acts_pre at (pos, feature)
    activation: float  # sae-lens's encode at (pos, feature): 0 if the feature did not fire
    attention: np.ndarray  # [layer, head, key_pos] attention row of this token (layers before the hook)
    source_values: np.ndarray  # [layer, head, key_pos] each head's share split by source token
    notes: tuple[str, ...] = ()

    @property
    def residual(self) -> float:
        """sum of shares - pre-activation: float rounding only (the tests hold it under 1e-4)."""
        return float(self.values.sum() - self.pre_activation)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({"component": self.names, "kind": self.kinds, "layer": self.layers,
                             "head": self.heads, "contribution": self.values})

    def head_frame(self) -> pd.DataFrame:
        """Heads ranked by |contribution|."""
        df = self.frame()
        df = df[df["kind"] == "head"].copy()
        return df.reindex(df["contribution"].abs().sort_values(ascending=False).index).reset_index(drop=True)

    def source_frame(self, layer: int, head: int) -> pd.DataFrame:
        return pd.DataFrame({"pos": np.arange(len(self.attention[layer, head])),
                             "token": self.str_tokens[: self.attention.shape[-1]],
                             "attention": self.attention[layer, head], "contribution": self.source_values[layer, head]})


def _scope(hook_name: str) -> tuple[int, bool]:
    """(full layers written before the hook, whether layer `full`'s attention is included too)."""
    layer = hooks.layer_of(hook_name)
    if hook_name == hooks.resid_pre(layer):
        return layer, False
    if hook_name == hooks.resid_mid(layer):
        return layer, True
    if hook_name == hooks.resid_post(layer):
        return layer + 1, False
    raise BadInput(f"Attribution needs an SAE on the residual stream; this one reads {hook_name}.")


def _frozen_post_norm(block, attn_pre: torch.Tensor):
    """The normalisation applied to the summed heads before hook_attn_out (Gemma 2's RMSNorm ln1_post), as a
    linear map with its scale frozen at this token's value: v -> v * w / rms(attn_pre). Identity when the block
    has none. The heads' images then add up to the block's attention output exactly, as the SAE's own norm does."""
    norm = getattr(block, "ln1_post", None)
    if norm is None:
        return lambda v: v
    if not hasattr(norm, "w") or hasattr(norm, "b"):  # LayerNorm-style post-norm: centring, not handled
        return lambda v: v
    scale = (attn_pre.float().pow(2).mean() + norm.eps).sqrt()
    return lambda v: v / scale * norm.w


def attribute_feature(backend, prompt: str, sae_id: str, feature: int, pos: int, max_tokens: int = 256) -> FeatureAttribution:
    """Implementation behind TransformerLensBackend.attribute(AttributionRequest): it reads TL's W_O and
    hook_z / hook_v, so it takes that backend (the app reaches it only through the backend verb)."""
    model, sae = backend.model, backend.sae(sae_id)
    cfg = model.cfg
    if not 0 <= feature < sae.cfg.d_sae:
        raise BadInput(f"Feature {feature} does not exist; {sae_id} has {sae.cfg.d_sae} features (0-{sae.cfg.d_sae - 1}).")
    norm_kind = sae.cfg.normalize_activations
    if norm_kind not in LINEAR_NORMS:
        raise BadInput(f"This SAE normalises its input with {norm_kind!r}; the split into components needs a linear map.")
    hook = sae.cfg.metadata.hook_name
    n_full, with_mid_attn = _scope(hook)
    attn_layers = list(range(n_full + (1 if with_mid_attn else 0)))
    tokens, _ = backend.to_tokens(prompt, max_tokens)
    n_pos = tokens.shape[1]
    if not 0 <= pos < n_pos:
        raise BadInput(f"Token position {pos} is outside this prompt (0-{n_pos - 1}).")
    wanted = {"hook_embed", "hook_pos_embed", hook}
    for l in attn_layers:
        wanted |= {hooks.z(l), hooks.v(l), hooks.pattern(l), hooks.attn_out(l)}
    for l in range(n_full):
        wanted.add(hooks.mlp_out(l))
    _, cache = backend.run(tokens, record=wanted, last_logits_only=True)

    with torch.no_grad():
        x = cache[hook][0, pos]  # [d_model] the SAE's input at this token
        rescale = getattr(sae.cfg, "rescale_acts_by_decoder_norm", False)  # TopK option; absent elsewhere
        r = sae.W_dec[feature].norm() if rescale else torch.tensor(1.0)
        w = sae.W_enc[:, feature] * r  # [d_model]
        if norm_kind == "constant_norm_rescale":
            scale = cfg.d_model ** 0.5 / x.norm()
            lin = lambda v: v * scale  # noqa: E731
        elif norm_kind == "layer_norm":
            std = (x - x.mean()).std() + 1e-5
            lin = lambda v: (v - v.mean(-1, keepdim=True)) / std  # noqa: E731
        else:
            lin = lambda v: v  # noqa: E731
        bias = float(r * (sae.b_enc[feature] - sae.cfg.apply_b_dec_to_input * (sae.b_dec @ sae.W_enc[:, feature])))

        names, kinds, layers, heads, values = [], [], [], [], []
        written = torch.zeros_like(x)  # sum of the component vectors, checked against x below

        def add(name, kind, layer, head, vec):
            nonlocal written
            names.append(name), kinds.append(kind), layers.append(layer), heads.append(head)
            values.append(float(lin(vec) @ w))
            written = written + vec

        add("token embedding", "embed", -1, -1, cache["hook_embed"][0, pos])
        if "hook_pos_embed" in cache:
            add("position embedding", "pos_embed", -1, -1, cache["hook_pos_embed"][0, pos])
        H = cfg.n_heads
        attention = np.zeros((len(attn_layers), H, n_pos), dtype=np.float32)
        source = np.zeros((len(attn_layers), H, n_pos), dtype=np.float32)
        notes = []
        for l in attn_layers:
            block = model.blocks[l]
            z = cache[hooks.z(l)][0, pos]  # [head, d_head]
            per_head = torch.einsum("hd,hdm->hm", z, block.attn.W_O)  # [head, d_model]
            attn_total = cache[hooks.attn_out(l)][0, pos]
            post = _frozen_post_norm(block, per_head.sum(0) + block.attn.b_O)  # Gemma 2: linear at this token
            per_head, b_O = post(per_head), post(block.attn.b_O)
            if torch.allclose(per_head.sum(0) + b_O, attn_total, atol=1e-4, rtol=1e-4):
                for h in range(H):
                    add(f"L{l}H{h}", "head", l, h, per_head[h])
                add(f"L{l} attention bias", "attn_bias", l, -1, b_O)
                pattern = cache[hooks.pattern(l)][0, :, pos]  # [head, key_pos]
                v = cache[hooks.v(l)][0]  # [key_pos, kv_head, d_head]
                if v.shape[1] != H:  # grouped-query attention: each kv head serves H / n_kv query heads
                    v = v.repeat_interleave(H // v.shape[1], dim=1)
                # [head, key_pos]: A[h, p, s] * (v[s, h] @ W_O[h]) @ w, via the norm's linear map
                out_vec = post(torch.einsum("shd,hdm->hsm", v, block.attn.W_O))
                src = pattern * (lin(out_vec) @ w)
                attention[l] = pattern.float().numpy()
                source[l] = src.float().numpy()
            else:  # e.g. a normalisation after attention that is not linear at a fixed scale
                add(f"L{l} attention", "attn", l, -1, attn_total)
                notes.append(f"Layer {l}: the attention output is normalised after the heads are summed, so it is "
                             "shown as one component.")
                attention[l] = cache[hooks.pattern(l)][0, :, pos].float().numpy()
            if l < n_full:
                add(f"L{l} MLP", "mlp", l, -1, cache[hooks.mlp_out(l)][0, pos])
        rest = x - written
        if rest.norm() > 1e-4 * max(float(x.norm()), 1.0):  # e.g. a scaled embedding: said, not hidden
            add("not attributed", "rest", -1, -1, rest)
            notes.append(f"{float(rest.norm()):.3g} of the residual's norm {float(x.norm()):.3g} is not a sum of the "
                         "listed components in this architecture; it is shown as 'not attributed'.")
        names.append("SAE bias (b_enc - b_dec·W_enc)"), kinds.append("sae_bias"), layers.append(-1), heads.append(-1)
        values.append(bias)
        # Ground truth from sae-lens itself: its pre-activation hook and its encode.
        _, sae_cache = sae.run_with_cache(x[None], names_filter=lambda n: n == "hook_sae_acts_pre")
        pre = float(sae_cache["hook_sae_acts_pre"][0, feature])
        act = float(sae.encode(cache[hook][0])[pos, feature])
    str_tokens = backend.str_tokens(tokens[0])
    return FeatureAttribution(
        model=backend.spec.name, prompt=prompt, sae=sae_id, feature=int(feature), pos=int(pos),
        token=str_tokens[pos], str_tokens=str_tokens,
        names=tuple(names), kinds=tuple(kinds), layers=tuple(layers), heads=tuple(heads),
        values=np.asarray(values, dtype=np.float64), pre_activation=pre, activation=act,
        attention=attention, source_values=source, notes=tuple(notes),
    )
