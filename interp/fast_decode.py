"""A lean decode loop over the *same* TransformerLens weights, for GPT-2-style models (torch).

TransformerLens's forward spends most of a single-token decode step in Python (einops, HookPoints,
module calls): on the embedded model it generates at ~0.7x the speed of HF `generate`. This module
recomputes exactly the processed model TL holds (LayerNormPre with folded weights, learned positions,
standard attention, gelu_new MLP) with a KV cache and few tensor ops. Steering hooks registered for
residual-stream hooks are called at the same points with the same (act, hook) signature. Tests check
its logits against TL's own forward, step by step, steered and not.
"""
from __future__ import annotations

import math

import torch

RESID_POINTS = ("hook_resid_pre", "hook_resid_mid", "hook_resid_post")


def supports(model, hook_names) -> bool:
    c = model.cfg
    return (c.normalization_type == "LNPre" and c.positional_embedding_type == "standard" and not c.attn_only
            and c.act_fn == "gelu_new" and not c.parallel_attn_mlp and getattr(c, "n_key_value_heads", None) is None
            and c.use_attn_scale and not c.scale_attn_by_inverse_layer_idx and c.final_rms is False
            and all(h.startswith("blocks.") and h.split(".")[-1] in RESID_POINTS for h in hook_names))


def _ln_pre(x, eps):
    x = x - x.mean(-1, keepdim=True)
    return x / (x.pow(2).mean(-1, keepdim=True) + eps).sqrt()


def _gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3))))


class FastDecoder:
    def __init__(self, model, fwd_hooks=()):
        c = model.cfg
        self.model, self.eps, self.h, self.dh = model, c.eps, c.n_heads, c.d_head
        self.scale = c.attn_scale
        self.hooks: dict[str, list] = {}
        for name, fn in fwd_hooks:
            self.hooks.setdefault(name, []).append(fn)
        self.k: list[torch.Tensor | None] = [None] * c.n_layers  # [1, head, pos, d_head]
        self.v: list[torch.Tensor | None] = [None] * c.n_layers
        self.pos = 0

    def _hook(self, name: str, x):
        for fn in self.hooks.get(name, ()):
            x = fn(x, None)
        return x

    def __call__(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens [1, n] following the cached ones -> logits [1, n, vocab]."""
        m, n = self.model, tokens.shape[1]
        x = m.embed.W_E[tokens] + m.pos_embed.W_pos[self.pos : self.pos + n][None]
        causal = torch.ones(n, self.pos + n, dtype=torch.bool).tril(self.pos)
        for l, block in enumerate(m.blocks):
            x = self._hook(f"blocks.{l}.hook_resid_pre", x)
            a, xn = block.attn, _ln_pre(x, self.eps)
            q = torch.einsum("bpd,hde->bhpe", xn, a.W_Q) + a.b_Q[None, :, None]
            k = torch.einsum("bpd,hde->bhpe", xn, a.W_K) + a.b_K[None, :, None]
            v = torch.einsum("bpd,hde->bhpe", xn, a.W_V) + a.b_V[None, :, None]
            if self.k[l] is not None:
                k, v = torch.cat([self.k[l], k], 2), torch.cat([self.v[l], v], 2)
            self.k[l], self.v[l] = k, v
            scores = (q @ k.transpose(-1, -2)) / self.scale  # [1, head, n, pos_so_far]
            pattern = torch.softmax(scores.masked_fill(~causal, float("-inf")), -1)
            z = pattern @ v  # [1, head, n, d_head]
            x = x + torch.einsum("bhpe,hed->bpd", z, a.W_O) + a.b_O
            x = self._hook(f"blocks.{l}.hook_resid_mid", x)
            mlp = block.mlp
            x = x + _gelu_new(_ln_pre(x, self.eps) @ mlp.W_in + mlp.b_in) @ mlp.W_out + mlp.b_out
            x = self._hook(f"blocks.{l}.hook_resid_post", x)
        self.pos += n
        return _ln_pre(x, self.eps) @ m.unembed.W_U + m.unembed.b_U
