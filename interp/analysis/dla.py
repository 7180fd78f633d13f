"""Direct logit attribution: a token's logit at one position split over the components that wrote the residual.

The final residual is a sum of component outputs,
    x = token embedding + position embedding + sum_l (sum_h head_lh + b_O_l + mlp_l),
and logit_t = norm(x) W_U[:, t] + b_U[t], with the final LayerNorm (GPT-2, folded: centre(x) / sigma(x)) or
RMSNorm (Gemma 2: x / rms(x) * w). With the scale frozen at its actual value the logit is linear in x, so each
component's share is norm_frozen(c) W_U[:, t]; with b_U[t] they add up to the real logit (tests: within 1e-4 of
the model's own forward pass). Gemma 2 soft-caps the logit, cap * tanh(logit / cap): monotone, not linear, so the
split is of the logit before the cap and the capped value (the model's output) is given beside it.
Heads are recomputed from the cached residuals and the trace's pattern (interp.analysis.head_math); with a norm
after attention (Gemma 2's ln1_post) each head's share is its output through that norm with the scale frozen, so
heads plus b_O are exactly what the layer added. Each MLP's output is what its block added beyond attention
(resid_post - resid_pre - attention), which a test checks against TransformerLens's hook_mlp_out.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from interp.analysis.head_math import NORMS, HeadWeights, centre, ln_scale, rms_scale, written
from interp.errors import BadInput


@dataclass(frozen=True)
class LogitAttribution:
    pos: int
    token: int
    names: tuple[str, ...]
    kinds: tuple[str, ...]  # embed | pos_embed | head | attn_bias | mlp | unembed_bias | rest
    layers: tuple[int, ...]  # -1 where no layer applies
    values: np.ndarray  # [component] float64
    logit: float  # norm(x) W_U[:, t] + b_U[t] computed directly from the final residual (before any soft-cap)
    final_scale: float  # sigma (LayerNorm) or rms (RMSNorm) of the final norm at this position
    capped: float | None = None  # cap * tanh(logit / cap), the model's output logit, for a soft-capped model
    softcap: float = 0.0
    norm_name: str = "LayerNorm"

    @property
    def residual(self) -> float:
        return float(self.values.sum() - self.logit)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({"component": self.names, "kind": self.kinds, "layer": self.layers,
                             "contribution": self.values})


def _check(raw: dict) -> None:
    if raw["normalization"] not in NORMS:
        raise BadInput("Direct logit attribution here needs the final LayerNorm folded into the unembedding "
                       f"(fold_ln) or an RMSNorm; this model has {raw['normalization']}.")


def logit_attribution(backend, trace, pos: int, token: int) -> LogitAttribution:
    """The split for one position and one vocabulary id of a cached trace (no forward pass)."""
    if not 0 <= pos < trace.n_pos:
        raise BadInput(f"Position {pos} is outside this prompt (0-{trace.n_pos - 1}).")
    if not 0 <= token < len(trace.next_token_logprobs):
        raise BadInput(f"Token id {token} is outside the vocabulary (0-{len(trace.next_token_logprobs) - 1}).")
    un = backend.unembed_weights(token)
    _check(un)
    stack = np.asarray(trace.resid_stack, np.float64)  # [layer + 1, pos, d_model]
    x = stack[-1, pos]
    if un["normalization"] == "LNPre":
        sigma = float(ln_scale(x, un["eps"])[0])
        column = un["W_U"]
        read = lambda vec: float(centre(vec) / sigma @ column)  # noqa: E731  (frozen final LayerNorm, W_U column)
    else:
        sigma = float(rms_scale(x, un["eps"])[0])
        column = un["ln_w"] * un["W_U"]  # RMSNorm's weight folded into the column
        read = lambda vec: float(np.asarray(vec, np.float64) / sigma @ column)  # noqa: E731
    names, kinds, layers, values = [], [], [], []
    written_sum = np.zeros_like(x)

    def add(name, kind, layer, vec):
        nonlocal written_sum
        names.append(name), kinds.append(kind), layers.append(layer), values.append(read(vec))
        written_sum = written_sum + vec

    tok, pos_emb = backend.embeddings(trace.tokens[: pos + 1])
    add("token embedding", "embed", -1, tok[pos])
    if pos_emb.shape[-1]:
        add("position embedding", "pos_embed", -1, pos_emb[pos])
    for l in range(trace.n_layers):
        raw = backend.head_weights(l)
        w = HeadWeights.from_backend(raw)
        per_head, bias = written(stack[l], trace.attention[l], w, pos)  # [head, d_model], [d_model]
        for h in range(w.n_heads):
            add(f"L{l}H{h}", "head", l, per_head[h])
        add(f"L{l} attention bias b_O", "attn_bias", l, bias)
        mlp = stack[l + 1, pos] - stack[l, pos] - per_head.sum(0) - bias  # what the block added beyond attention
        if not raw["attn_only"]:
            add(f"L{l} MLP", "mlp", l, mlp)
    rest = x - written_sum
    if np.linalg.norm(rest) > 1e-4 * max(np.linalg.norm(x), 1.0):  # said, not hidden
        add("not attributed", "rest", -1, rest)
    names.append("unembedding bias b_U"), kinds.append("unembed_bias"), layers.append(-1), values.append(un["b_U"])
    logit = read(x) + un["b_U"]
    softcap = float(un.get("softcap") or 0.0)
    return LogitAttribution(pos=pos, token=int(token), names=tuple(names), kinds=tuple(kinds), layers=tuple(layers),
                            values=np.asarray(values), logit=logit, final_scale=sigma,
                            capped=softcap * float(np.tanh(logit / softcap)) if softcap else None, softcap=softcap,
                            norm_name=NORMS[un["normalization"]])


def token_choices(backend, trace, pos: int, k: int = 10) -> list[tuple[int, str, float]]:
    """(id, text, logit) of the model's top-k next tokens at `pos` (read from the cached final residual), then the
    prompt's actual next token if it is not among them."""
    import torch

    if not 0 <= pos < trace.n_pos:
        raise BadInput(f"Position {pos} is outside this prompt (0-{trace.n_pos - 1}).")
    with torch.no_grad():
        logits = backend.logit_lens_logits(torch.as_tensor(np.array(trace.resid_stack[-1, pos]))[None, None])[0, 0]
    ids = logits.topk(k).indices.tolist()
    if pos + 1 < trace.n_pos and int(trace.tokens[pos + 1]) not in ids:
        ids.append(int(trace.tokens[pos + 1]))
    return [(i, t, float(logits[i])) for i, t in zip(ids, backend.str_tokens(ids))]
