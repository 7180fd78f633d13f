"""Batched steered sampling (torch): many (feature, strength, prompt) rows in one KV-cached decode loop.

The dose-response sweep and the steerability scan both need dozens to thousands of short steered
continuations; one row at a time (interp.generation) would take minutes. Here every row carries its own
decoder direction and strength, so a whole grid is one batched forward per generated token. Rows share a
prompt length (the caller pads nothing: prompts are cut to the same token count).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class BatchResult:
    tokens: np.ndarray  # [row, n_prompt + n_new] int
    n_prompt: int
    prompt_logprobs: np.ndarray | None  # [row, n_prompt, vocab] steered log-probs over the prompt (if kept)
    feature_act: np.ndarray  # [row] the steered feature re-encoded at its own hook, mean over generated steps
    mean_probs: np.ndarray  # [row, vocab] the steered next-token distributions of the sampling steps, averaged


def _sample(logprobs: torch.Tensor, temperature: float, top_k: int, u: torch.Tensor) -> torch.Tensor:
    """logprobs [row, vocab], u [row] uniforms -> [row] token ids (greedy at temperature 0). Top-k, then the
    inverse CDF at u: rows given the same u and the same distribution draw the same token, so a strength grid
    run with shared uniforms differs only where steering changed the distribution ("same seed")."""
    if temperature == 0:
        return logprobs.argmax(-1)
    top = logprobs.topk(min(top_k or logprobs.shape[-1], logprobs.shape[-1]), -1)  # sorted, largest first
    cdf = torch.softmax(top.values / temperature, -1).cumsum(-1)
    pick = torch.searchsorted(cdf, (u * cdf[:, -1])[:, None]).clamp_max(cdf.shape[-1] - 1)  # [row, 1]
    return top.indices.gather(-1, pick)[:, 0]


def steered_batch(backend, sae_id: str, prompts: torch.Tensor, features: torch.Tensor, values: torch.Tensor,
                  mode: str = "add", n_new: int = 20, temperature: float = 0.8, top_k: int = 40, seed: int = 0,
                  start: int = 0,
                  sample_of: torch.Tensor | None = None, keep_prompt: bool = True) -> BatchResult:
    """prompts [row, n] (BOS first), features [row] int, values [row] float: add values[r] * W_dec[features[r]]
    (mode add) or set the feature's activation to values[r] (clamp; the SAE's error term kept) at the SAE's
    hook, at every position >= start, generated tokens included. A row with value 0 in add mode is the base run.
    sample_of [row] int: rows with the same sample index share their random draws (default: all rows distinct).
    """
    from transformer_lens import TransformerLensKeyValueCache

    model, sae = backend.model, backend.sae(sae_id)
    hook_name = sae.cfg.metadata.hook_name
    rows, n_prompt = prompts.shape
    dirs = sae.W_dec[features].detach()  # [row, d_model]
    coef = values.float()[:, None, None]  # [row, 1, 1]
    offset = [0]
    acts: list[torch.Tensor] = []  # [row] the feature's re-encoded activation, one entry per generated step

    def steer(act, hook):  # act [row, pos, d_model]
        first = max(0, start - offset[0])
        if first >= act.shape[1]:
            return act
        x = act[:, first:]  # a view: written in place (inference mode, the hook owns this activation)
        if mode == "add":
            x += coef * dirs[:, None, :]
        else:  # clamp: x + decode(f') - decode(f), only the steered feature changed
            old = sae.encode(x).gather(-1, features[:, None, None].expand(-1, x.shape[1], 1))
            x += (torch.where(coef.isnan(), old, coef) - old) * dirs[:, None, :]  # NaN value: row left as is
        if offset[0] >= n_prompt:  # a decode step: re-encode what the SAE now reads there
            acts.append(sae.encode(act[:, -1]).gather(-1, features[:, None])[:, 0])
        return act

    gen = torch.Generator().manual_seed(seed)
    sample_of = torch.arange(rows) if sample_of is None else sample_of
    n_samples = int(sample_of.max()) + 1
    budget = min(n_new, model.cfg.n_ctx - n_prompt)
    out, probs = [prompts], torch.zeros(rows, model.cfg.d_vocab)
    with backend.lock, torch.inference_mode(), model.hooks(fwd_hooks=[(hook_name, steer)]):
        cache = TransformerLensKeyValueCache.init_cache(model.cfg, model.cfg.device, rows)
        logits = model(prompts, past_kv_cache=cache)  # [row, n, vocab]
        prompt_logprobs = torch.log_softmax(logits.float(), -1).numpy() if keep_prompt else None
        backend.forward_passes += 1
        for i in range(budget):
            last = torch.log_softmax(logits[:, -1].float(), -1)
            probs += last.exp()
            nxt = _sample(last, temperature, top_k, torch.rand(n_samples, generator=gen)[sample_of])
            out.append(nxt[:, None])
            if i == budget - 1:
                break
            offset[0] = n_prompt + i
            logits = model(nxt[:, None], past_kv_cache=cache)
    feature_act = torch.stack(acts, 1).mean(1) if acts else torch.zeros(rows)
    return BatchResult(torch.cat(out, 1).numpy(), n_prompt, prompt_logprobs, feature_act.numpy(),
                       (probs / max(budget, 1)).numpy())


def base_loss(backend, tokens: np.ndarray, n_prompt: int) -> np.ndarray:
    """[row] mean next-token loss of each row's generated tokens under the unsteered model (teacher-forced)."""
    model = backend.model
    x = torch.as_tensor(tokens)
    with backend.lock, torch.inference_mode():
        logp = torch.log_softmax(model(x).float(), -1)  # [row, pos, vocab]
        backend.forward_passes += 1
    picked = logp[:, n_prompt - 1 : -1].gather(-1, x[:, n_prompt:, None])[..., 0]  # [row, n_new]
    return (-picked).mean(1).numpy()


def repetition_rate(tokens: np.ndarray, n_prompt: int) -> np.ndarray:
    """[row] share of a continuation's token bigrams that already occurred earlier in that continuation:
    ~0.05 for fluent text, -> 1 for a loop such as 'your your your'."""
    out = []
    for row in tokens[:, n_prompt:]:
        seen, rep, pairs = set(), 0, list(zip(row[:-1].tolist(), row[1:].tolist()))
        for p in pairs:
            rep += p in seen
            seen.add(p)
        out.append(rep / max(len(pairs), 1))
    return np.array(out)


def promoted_tokens(backend, sae_id: str, feature: int, k: int = 10) -> np.ndarray:
    """The k token ids the decoder direction promotes most through the unembedding (W_dec[f] @ W_U)."""
    with torch.no_grad():
        return (backend.sae(sae_id).W_dec[feature] @ backend.model.W_U).topk(k).indices.numpy()


def mean_resid_norm(backend, sae_id: str, prompts: torch.Tensor) -> float:
    """Mean ||resid|| at the SAE's hook over non-BOS positions of the given prompts (the strength unit)."""
    hook = backend.sae(sae_id).cfg.metadata.hook_name
    with backend.lock, torch.inference_mode():
        _, cache = backend.model.run_with_cache(prompts, names_filter=lambda n: n == hook)
    return float(cache[hook][:, 1:].norm(dim=-1).mean())
