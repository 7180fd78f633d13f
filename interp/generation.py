"""Steered sampling with a KV cache, and the per-token KL between a steered and a base run (torch)."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import torch
from transformer_lens import TransformerLensKeyValueCache

from interp import lean_forward
from interp.requests import GenerateRequest
from interp.steering import steering_hooks


@dataclass(frozen=True)
class Generation:
    prompt_tokens: int  # positions of the prompt, BOS included
    tokens: tuple[int, ...]  # prompt + continuation
    new_str_tokens: tuple[str, ...]
    text: str  # the continuation only


def _sample(logits: torch.Tensor, req: GenerateRequest, gen: torch.Generator) -> int:
    if req.temperature == 0:
        return int(logits.argmax())
    logits = logits / req.temperature
    if req.top_k:
        kth = logits.topk(min(req.top_k, logits.shape[-1])).values[-1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    return int(torch.multinomial(torch.softmax(logits, -1), 1, generator=gen))


def generate(backend, req: GenerateRequest) -> Generation:
    """Decode one token at a time with a KV cache (lean_forward for GPT-2-style models, TransformerLens
    otherwise). Steering hooks are told the absolute position of each step (`offset`), so generated
    tokens are steered like prompt tokens."""
    model = backend.model
    tokens, _ = backend.to_tokens(req.trace.prompt, req.trace.max_tokens)
    n_prompt = tokens.shape[1]
    budget = min(req.max_new_tokens, model.cfg.n_ctx - n_prompt)
    gen = torch.Generator().manual_seed(req.seed)
    offset = [0]
    out = tokens[0].tolist()
    # inference_mode, not no_grad: decode steps are tiny, and autograd bookkeeping is a visible share of them
    with backend.lock, torch.inference_mode():
        fwd = steering_hooks(req.trace.active_steering, backend.sae, pos_offset=lambda: offset[0])
        if lean_forward.supports(model, [name for name, _ in fwd]):
            lean = lean_forward.LeanForward(model, fwd)  # only the last position's logits are sampled from
            step, ctx = (lambda t: lean(t, last_logits_only=True)), contextlib.nullcontext()
        else:  # any other architecture or hook point: TransformerLens's own forward with its KV cache
            cache = TransformerLensKeyValueCache.init_cache(model.cfg, model.cfg.device, 1)
            step, ctx = (lambda t: model(t, past_kv_cache=cache)), model.hooks(fwd_hooks=fwd)
        with ctx:
            logits = step(tokens)
            backend.forward_passes += 1
            for _ in range(budget):
                offset[0] = len(out)
                nxt = _sample(logits[0, -1].float(), req, gen)
                out.append(nxt)
                if len(out) >= model.cfg.n_ctx:
                    break
                logits = step(torch.full((1, 1), nxt))
    new = out[n_prompt:]
    return Generation(n_prompt, tuple(out), backend.str_tokens(new) if new else (),
                      model.tokenizer.decode(new))


def per_token_kl(backend, tokens: tuple[int, ...], steering, start: int) -> np.ndarray:
    """KL(steered || base) of the next-token distribution at each position >= start - 1 of `tokens`,
    both runs teacher-forced on the same tokens (so the comparison is position by position)."""
    x = torch.tensor([tokens])
    base = torch.log_softmax(backend.logits(x)[0].float(), -1)
    steered = torch.log_softmax(backend.logits(x, steering)[0].float(), -1)
    kl = (steered.exp() * (steered - base)).sum(-1)  # [pos]
    return kl[start - 1 : len(tokens) - 1].numpy()
