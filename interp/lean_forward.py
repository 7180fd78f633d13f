"""A lean forward pass over the *same* TransformerLens weights, for GPT-2-style models (torch).

TransformerLens's forward spends much of its time in Python (einops, HookPoints, module calls, one
einsum per projection): on the embedded model its plain forward is 1.5-1.7x HF's, and a single-token
decode step is slower still. This module recomputes exactly the processed model TL holds (LayerNormPre
with folded weights, learned positions, standard attention, gelu_new MLP) in a few matrix products per
block, with a KV cache for decoding. It serves both the traced pass (`record=` the hook names to keep,
`last_logits_only=True`: a trace reads only the next-token distribution) and generation.

Hooks registered for residual-stream points (steering) are called at the same points with TL's
(act [batch, pos, d_model], hook) signature. Recorded activations carry TL's hook names and a batch
dimension of 1, so a caller reads them like `run_with_cache`'s cache. Tests check logits and every
recorded activation against TL's own forward, steered and not, chunked and token by token.
"""
from __future__ import annotations

import torch

from interp.backends import tl_patches

RESID_POINTS = ("hook_resid_pre", "hook_resid_mid", "hook_resid_post")
RECORDABLE = RESID_POINTS + ("hook_attn_out", "hook_mlp_out", "attn.hook_pattern", "attn.hook_v", "attn.hook_z")
RECORDABLE_TOP = ("hook_embed", "hook_pos_embed")


def supports(model, hook_names, record=()) -> bool:
    """True when the lean pass computes exactly what TL would: a GPT-2-style model, steering hooks only at
    residual-stream points, and only activations it knows how to record."""
    c = model.cfg
    return (c.normalization_type == "LNPre" and c.positional_embedding_type == "standard" and not c.attn_only
            and c.act_fn == "gelu_new" and not c.parallel_attn_mlp and getattr(c, "n_key_value_heads", None) is None
            and c.use_attn_scale and not c.scale_attn_by_inverse_layer_idx and c.final_rms is False
            and not getattr(c, "attn_types", None)  # local attention windows (GPT-Neo)
            and getattr(c, "attn_scores_soft_cap", -1.0) <= 0 and getattr(c, "output_logits_soft_cap", -1.0) <= 0
            and all(_point(h) in RESID_POINTS for h in hook_names)
            and all(h in RECORDABLE_TOP or _point(h) in RECORDABLE for h in record))


def _point(hook_name: str) -> str | None:
    parts = hook_name.split(".")
    if len(parts) < 3 or parts[0] != "blocks" or not parts[1].isdigit():
        return None
    return ".".join(parts[2:])


def _ln_pre(x: torch.Tensor, eps: float) -> torch.Tensor:
    """TL's LayerNormPre: centre and scale, no weights (they are folded into the next matrices). One fused op
    (a layer norm without affine weights is exactly this) instead of four: the tiny model's pass is mostly
    per-op overhead."""
    return torch.nn.functional.layer_norm(x, x.shape[-1:], eps=eps)


class _Weights:
    """Per-layer matrices in the shapes one matrix product wants, built once per model and kept on it.

    Query, key and value become one [d_model, 3 * heads * d_head] matrix per layer, and TL's W_Q, W_K and W_V
    parameters are re-pointed at views of it: the numbers are unchanged (TL's einsums accept strided
    weights) and no second copy is held (85 MB for gpt2-small)."""

    def __init__(self, model):
        c = model.cfg
        self.qkv, self.qkv_bias, self.out = [], [], []
        for block in model.blocks:
            a = block.attn
            fused = torch.stack([a.W_Q, a.W_K, a.W_V], 1).permute(2, 1, 0, 3).contiguous()  # [d_model, 3, head, d_head]
            for i, w in enumerate((a.W_Q, a.W_K, a.W_V)):
                w.data = fused[:, i].permute(1, 0, 2)  # [head, d_model, d_head], a view
            self.qkv.append(fused.view(c.d_model, -1))
            self.qkv_bias.append(torch.stack([a.b_Q, a.b_K, a.b_V]).reshape(-1).contiguous())
            self.out.append(a.W_O.reshape(c.n_heads * c.d_head, c.d_model))  # [head * d_head, d_model]
        # W_Q's storage is now the fused matrix: in-place loads (load_state_dict) update both; a new tensor
        # assigned to W_Q (a new storage) makes _weights rebuild
        self.source = model.blocks[0].attn.W_Q.data_ptr()


def prepare(model) -> None:
    """Build the lean weights at load time (the backend calls this before any session can run the model)."""
    if supports(model, ()):
        _weights(model)


def _weights(model) -> _Weights:
    w = tl_patches.attached(model)
    if w is None or w.source != model.blocks[0].attn.W_Q.data_ptr():
        with torch.no_grad():
            w = _Weights(model)
        tl_patches.attach(model, w)  # not a submodule or buffer: invisible to state_dict
    return w


class LeanForward:
    """Call with tokens [1, n] that follow the cached ones; returns logits [1, n (or 1), vocab].

    record: TL hook names (e.g. 'blocks.0.attn.hook_pattern') whose activations the *last* call keeps in
    `self.cache`, each [1, ...] as in TL's cache."""

    def __init__(self, model, fwd_hooks=(), record=()):
        c = model.cfg
        self.model, self.eps, self.h, self.dh = model, c.eps, c.n_heads, c.d_head
        self.inv_scale = 1.0 / c.attn_scale
        self.w = _weights(model)
        self.hooks: dict[str, list] = {}
        for name, fn in fwd_hooks:
            self.hooks.setdefault(name, []).append(fn)
        self.record = frozenset(record)
        self.cache: dict[str, torch.Tensor] = {}
        self.k: list[torch.Tensor | None] = [None] * c.n_layers  # [head, pos, d_head]
        self.v: list[torch.Tensor | None] = [None] * c.n_layers
        self.pos = 0

    def _keep(self, name: str, x: torch.Tensor) -> None:
        """Record an activation (if asked for) with TL's batch dim of 1."""
        if name in self.record:
            self.cache[name] = x[None]

    def _at(self, name: str, x: torch.Tensor) -> torch.Tensor:
        """A residual-stream point, x: [n, d_model]. Steering hooks see [1, n, d_model]."""
        for fn in self.hooks.get(name, ()):
            x = fn(x[None], None)[0]
        self._keep(name, x)
        return x

    def __call__(self, tokens: torch.Tensor, last_logits_only: bool = False) -> torch.Tensor:
        if tokens.dim() != 2 or tokens.shape[0] != 1:
            raise ValueError(f"LeanForward runs one sequence at a time: tokens [1, n], got {tuple(tokens.shape)}")
        m, n, h, dh, w = self.model, tokens.shape[1], self.h, self.dh, self.w
        self.cache = {}
        embed, pos_embed = m.embed.W_E[tokens[0]], m.pos_embed.W_pos[self.pos : self.pos + n]  # [n, d_model]
        self._keep("hook_embed", embed)
        self._keep("hook_pos_embed", pos_embed)
        x = embed + pos_embed
        total = self.pos + n
        future = torch.ones(n, total, dtype=torch.bool).triu(self.pos + 1)  # query i may not see key > pos + i
        for l, block in enumerate(m.blocks):
            x = self._at(f"blocks.{l}.hook_resid_pre", x)
            qkv = torch.addmm(w.qkv_bias[l], _ln_pre(x, self.eps), w.qkv[l]).view(n, 3, h, dh).permute(1, 2, 0, 3)
            q, k, v = qkv[0], qkv[1], qkv[2]  # [head, n, d_head]
            self._keep(f"blocks.{l}.attn.hook_v", v.transpose(0, 1))  # TL's [pos, head, d_head]
            if self.k[l] is not None:
                k, v = torch.cat([self.k[l], k], 1), torch.cat([self.v[l], v], 1)
            self.k[l], self.v[l] = k, v
            scores = (q @ k.transpose(1, 2)).mul_(self.inv_scale)  # [head, n, total]
            pattern = torch.softmax(scores.masked_fill_(future, float("-inf")), -1)
            self._keep(f"blocks.{l}.attn.hook_pattern", pattern)
            z = (pattern @ v).transpose(0, 1)  # [n, head, d_head]
            self._keep(f"blocks.{l}.attn.hook_z", z)
            z = z.reshape(n, h * dh)
            attn_out = self._at(f"blocks.{l}.hook_attn_out", torch.addmm(block.attn.b_O, z, w.out[l]))
            x = self._at(f"blocks.{l}.hook_resid_mid", x + attn_out)
            mlp = block.mlp
            hidden = torch.nn.functional.gelu(torch.addmm(mlp.b_in, _ln_pre(x, self.eps), mlp.W_in), approximate="tanh")
            mlp_out = self._at(f"blocks.{l}.hook_mlp_out", torch.addmm(mlp.b_out, hidden, mlp.W_out))
            x = self._at(f"blocks.{l}.hook_resid_post", x + mlp_out)
        self.pos = total
        if last_logits_only:
            x = x[-1:]
        return torch.addmm(m.unembed.b_U, _ln_pre(x, self.eps), m.unembed.W_U)[None]
