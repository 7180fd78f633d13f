"""Steered sampling and the per-token KL between a steered and a base run (torch). Implementation behind
backend.generate / backend.per_token_kl: it uses only the backend primitives of interp.backends.common."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from interp.requests import GenerateRequest


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
    """Decode one token at a time through the backend's decode_session (a KV cache where it has one).
    Steering hooks are told the absolute position of each step (`offset`), so generated tokens are
    steered like prompt tokens. Called by backend.generate(req); the backend holds the lock and counts."""
    tokens, _ = backend.to_tokens(req.trace.prompt, req.trace.max_tokens)
    n_prompt, n_ctx = tokens.shape[1], backend.info.n_ctx
    budget = min(req.max_new_tokens, n_ctx - n_prompt)
    gen = torch.Generator().manual_seed(req.seed)
    offset = [0]
    out = tokens[0].tolist()
    with backend.decode_session(req.trace.active_steering, pos_offset=lambda: offset[0]) as step:
        logits = step(tokens)
        for _ in range(budget):
            offset[0] = len(out)
            nxt = _sample(logits[0, -1].float(), req, gen)
            out.append(nxt)
            if len(out) >= n_ctx:
                break
            logits = step(torch.full((1, 1), nxt))
    new = out[n_prompt:]
    return Generation(n_prompt, tuple(out), backend.str_tokens(new) if new else (), backend.decode(new))


def per_token_kl(backend, tokens: tuple[int, ...], steering, start: int) -> np.ndarray:
    """KL(steered || base) of the next-token distribution at each position >= start - 1 of `tokens`,
    both runs teacher-forced on the same tokens (so the comparison is position by position)."""
    x = torch.tensor([tokens])
    base = torch.log_softmax(backend.logits(x)[0].float(), -1)
    steered = torch.log_softmax(backend.logits(x, steering)[0].float(), -1)
    kl = (steered.exp() * (steered - base)).sum(-1)  # [pos]
    return kl[start - 1 : len(tokens) - 1].numpy()
