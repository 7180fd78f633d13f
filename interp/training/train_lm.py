"""Train the embedded GPT-2-style model on the public-domain corpus.

Why the repeat rows: a 4-layer d128 model trained on ~5 M tokens of prose learns no previous-token
or induction heads in CPU-minute budgets (see the shared notes). In a share of each batch a span S of
8-48 random tokens or prose tokens is therefore written twice into the prose window, at random places.
An earlier version tiled S periodically (S S S ...); the model then learned position-parity features
(adjacent position embeddings anti-correlated) instead of induction: a fixed period is a positional shortcut.
Only the copies after the first are scored, so the loss rewards exactly what an induction circuit
(previous-token head + induction head) does, and the prose statistics are not distorted.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class LMConfig:
    vocab_size: int = 4096
    n_ctx: int = 256
    d_model: int = 128
    n_layer: int = 4
    n_head: int = 4
    d_mlp: int = 512
    batch_size: int = 8
    lr: float = 3e-3
    weight_decay: float = 0.1
    warmup_steps: int = 100
    budget_s: float = 2700.0
    max_steps: int | None = None  # stop here even if the budget is not spent (the LR schedule still follows the budget)
    repeat_frac: float = 0.5
    span_min: int = 8
    span_max: int = 48
    eval_every: int = 250
    seed: int = 2
    wpe_init: str = "sinusoid"  # "sinusoid": sin/cos positions (scaled to the token embeddings' norm), still learned
    init_from: str | None = None  # continue from a saved model folder (its tokenizer is reused)
    tokenizer_from: str | None = None  # reuse this folder's tokenizer instead of training one
    attn_only: bool = False  # MLPs of width 1 held at zero: an attention-only model in GPT-2's file format
    prev_token_init: bool = False  # start layer 0 head 0 as a previous-token head (see init_previous_token_head)
    freeze_prev_token_qk: bool = False  # ... and keep its query/key weights fixed (a scaffold; OV still learned)
    random_span_frac: float = 0.5  # share of repeated spans that are random tokens (the rest are prose)


def sinusoid_positions(n: int, d: int) -> np.ndarray:
    """[n, d] sin/cos position code (Vaswani et al.): a shift by one position is a fixed rotation,
    so "attend to the previous token" is one linear map away from the start of training."""
    pos = np.arange(n)[:, None]
    freq = np.exp(-np.log(10000.0) * np.arange(0, d, 2) / d)[None, :]
    out = np.zeros((n, d))
    out[:, 0::2], out[:, 1::2] = np.sin(pos * freq), np.cos(pos * freq)
    return out


def shift_rotation(d: int) -> np.ndarray:
    """[d, d] R with sinusoid_positions(n, d)[p] @ R == sinusoid_positions(n, d)[p + 1]: one rotation per frequency."""
    freq = np.exp(-np.log(10000.0) * np.arange(0, d, 2) / d)
    R = np.zeros((d, d))
    for f, w in enumerate(freq):
        s, c = 2 * f, 2 * f + 1
        R[s, s], R[s, c], R[c, s], R[c, c] = np.cos(w), -np.sin(w), np.sin(w), np.cos(w)
    return R


D_POS = 32  # dims of the position code when --prev-token-init is used


def init_previous_token_head(model, d_pos: int = D_POS, beta: float = 5.0, pos_scale: float = 3.0) -> None:
    """Layer 0 head 0 starts as a previous-token head, by construction; training is free to change it.

    Positions get their own subspace: dims [0, d_pos) of wpe hold a sin/cos code and the token embeddings
    are zeroed there. The head's query reads the code of its own position p, its key the code of p + 1
    (a fixed rotation R), so q_p . k_j is largest at j = p - 1. beta sets the sharpness: the logit gap between
    p - 1 and its neighbours is about 8 at the start. The caller keeps the code fixed and the token embeddings
    out of its subspace (see train_lm); the code's norm is pos_scale x the token embeddings' initial norm,
    because the tokens' grows about threefold in training and LayerNorm would otherwise blur the head. Why: without it a 2-layer model sits on a long plateau before any
    previous-token head forms (measured: 0.25 after 10 M tokens, and no induction head), and an induction
    head can only form on top of one (K-composition)."""
    import torch

    t = model.transformer
    n_ctx, d = t.wpe.weight.shape
    d_head = d // model.config.n_head
    assert d_pos <= d_head
    pos = sinusoid_positions(n_ctx, d_pos)
    with torch.no_grad():
        t.wte.weight[:, :d_pos] = 0.0
        t.wpe.weight.zero_()
        scale = pos_scale * float(t.wte.weight.norm(dim=-1).mean()) / float(np.linalg.norm(pos, axis=-1).mean())
        t.wpe.weight[:, :d_pos] = torch.from_numpy(pos * scale).float()
        W = t.h[0].attn.c_attn.weight  # Conv1D [d_model, 3 * d_model]: x @ W = [q | k | v]
        W[:, :d_head] = 0.0  # head 0 query
        W[:, d:d + d_head] = 0.0  # head 0 key
        W[:d_pos, :d_pos] = torch.eye(d_pos) * beta
        W[:d_pos, d:d + d_pos] = torch.from_numpy(shift_rotation(d_pos) * beta).float()


def widen_zero_mlps(folder: Path) -> None:
    """Rewrite an attention-only checkpoint (MLPs of width 1, all zero) with zero MLPs of width 4 * d_model.
    TransformerLens's GPT-2 config ignores n_inner and assumes 4 * d_model, so it refuses the narrow shape.
    The zero MLPs output exactly 0 either way; the file grows by 1 MB."""
    from transformers import GPT2Config, GPT2LMHeadModel

    narrow = GPT2LMHeadModel.from_pretrained(folder)
    cfg = GPT2Config.from_pretrained(folder)
    cfg.n_inner = None
    wide = GPT2LMHeadModel(cfg)
    state = {k: v for k, v in narrow.state_dict().items() if ".mlp." not in k}
    missing, _ = wide.load_state_dict(state, strict=False)
    assert all(".mlp." in k for k in missing), missing
    for block in wide.transformer.h:
        for p in block.mlp.parameters():
            p.data.zero_()
    wide.save_pretrained(folder)


def split_docs(docs: list[str], seed: int = 0) -> tuple[list[str], list[str]]:
    """(train, val): 2 % of documents held out, the same split for the LM and the SAEs."""
    n_val = max(1, len(docs) // 50)
    order = np.random.default_rng(seed).permutation(len(docs))
    return [docs[i] for i in order[n_val:]], [docs[i] for i in order[:n_val]]


def encode_docs(tok, docs: list[str]) -> np.ndarray:
    """Concatenate documents, each preceded by BOS (id 0), as one uint16 array."""
    ids: list[int] = []
    for d in docs:
        ids.append(tok.bos_token_id)
        ids.extend(tok(d, add_special_tokens=False)["input_ids"])
    return np.asarray(ids, dtype=np.uint16)


def make_batch(rng: np.random.Generator, data: np.ndarray, cfg: LMConfig, bos: int):
    """Rows of [BOS] + 255 prose tokens; in a repeat row a span S (random tokens or prose) is written into the
    window twice, at random places: the second copy is predictable only by looking back for the first.
    The distance between copies varies, so no fixed positional offset can stand in for induction.
    Returns (tokens [batch, ctx], loss_mask [batch, ctx - 1]); the first copy of S is not scored."""
    T = cfg.n_ctx
    x = np.empty((cfg.batch_size, T), dtype=np.int64)
    mask = np.ones((cfg.batch_size, T - 1), dtype=bool)  # mask[i, t]: predict x[t+1]
    x[:, 0] = bos
    for i in range(cfg.batch_size):
        s = int(rng.integers(0, len(data) - T))
        x[i, 1:] = data[s : s + T - 1]
        if rng.random() < cfg.repeat_frac:
            L = int(rng.integers(cfg.span_min, cfg.span_max + 1))
            if rng.random() < cfg.random_span_frac:
                span = rng.integers(1, cfg.vocab_size, size=L)
            else:
                o = int(rng.integers(0, len(data) - L))
                span = data[o : o + L].astype(np.int64)
            p1 = int(rng.integers(1, T - 2 * L))  # first copy at x[p1 : p1 + L]
            p2 = int(rng.integers(p1 + L, T - L + 1))  # second copy after it, at a random distance
            x[i, p1 : p1 + L] = span
            x[i, p2 : p2 + L] = span
            mask[i, p1 - 1 : p1 + L - 1] = False  # predicting the first copy's tokens: not scored
    return x, mask


def train_lm(docs: list[str], out: Path, cfg: LMConfig, log=print):
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from interp.training.tokenizer import train_tokenizer

    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    out.mkdir(parents=True, exist_ok=True)
    train_docs, val_docs = split_docs(docs)  # the split never depends on the training seed
    if cfg.init_from or cfg.tokenizer_from:
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(cfg.init_from or cfg.tokenizer_from)
        tok.save_pretrained(out)
    else:
        tok = train_tokenizer(train_docs, out, cfg.vocab_size, cfg.n_ctx)
    train = encode_docs(tok, train_docs)
    val = encode_docs(tok, val_docs)
    log(f"tokens: train {len(train):,} val {len(val):,}")

    gcfg = GPT2Config(
        vocab_size=cfg.vocab_size, n_positions=cfg.n_ctx, n_ctx=cfg.n_ctx, n_embd=cfg.d_model,
        n_layer=cfg.n_layer, n_head=cfg.n_head, n_inner=1 if cfg.attn_only else cfg.d_mlp, activation_function="gelu_new",
        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, tie_word_embeddings=True,
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
    )
    model = GPT2LMHeadModel.from_pretrained(cfg.init_from) if cfg.init_from else GPT2LMHeadModel(gcfg)
    if cfg.wpe_init == "sinusoid" and not cfg.init_from:
        with torch.no_grad():
            wpe = torch.from_numpy(sinusoid_positions(cfg.n_ctx, cfg.d_model)).float()
            model.transformer.wpe.weight.copy_(wpe * model.transformer.wte.weight.norm(dim=-1).mean() / wpe.norm(dim=-1).mean())
    if cfg.prev_token_init and not cfg.init_from:
        init_previous_token_head(model)
        # Frozen: Adam's steps (~lr per entry) would overwrite a code of entries ~0.05 within a few hundred steps
        # (measured: the head's score fell from 0.67 to below 0.03 by step 250 when wpe was trained).
        # The token embeddings grew into the code's dims (norm 0 -> 0.35, above the code's 0.2) and drowned it:
        # their gradient there is held at zero, so they stay out (AdamW then leaves the zeros alone).
        model.transformer.wpe.weight.requires_grad_(False)
        model.transformer.wte.weight.register_hook(lambda g: torch.cat([torch.zeros_like(g[:, :D_POS]), g[:, D_POS:]], 1))
    pinned = []  # (tensor, column index, value): restored after every step (weight decay would shrink them too)
    if cfg.freeze_prev_token_qk and not cfg.init_from:
        # Measured without it: the constructed head decays from 0.99 to 0.18-0.3 within 2,000 steps while no
        # induction head has formed yet, so the layer-1 head never has a partner to compose with.
        d, d_head = cfg.d_model, cfg.d_model // cfg.n_head
        cols = torch.cat([torch.arange(d_head), torch.arange(d, d + d_head)])
        attn = model.transformer.h[0].attn.c_attn
        pinned = [(attn.weight, cols, attn.weight.data[:, cols].clone()), (attn.bias, cols, attn.bias.data[cols].clone())]
    if cfg.attn_only:  # zero weights and biases make each MLP output exactly 0; frozen, they stay 0
        for block in model.transformer.h:
            for p in block.mlp.parameters():
                p.data.zero_()
                p.requires_grad_(False)
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    decay = [p for n, p in params if p.dim() >= 2 and "wpe" not in n]
    no_decay = [p for n, p in params if p.dim() < 2 or "wpe" in n]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr, betas=(0.9, 0.95),
    )
    val_x = torch.from_numpy(
        np.stack([np.concatenate([[tok.bos_token_id], val[s : s + cfg.n_ctx - 1]])
                  for s in range(0, len(val) - cfg.n_ctx, cfg.n_ctx)][:64]).astype(np.int64)
    )

    def evaluate():
        model.eval()
        with torch.no_grad():
            vl = model(val_x, labels=val_x).loss.item()
            scores = probe_head_scores(model, val_x[:8], cfg.vocab_size, seed=cfg.seed)
        model.train()
        return vl, scores

    history = []
    t0, step, tokens = time.time(), 0, 0
    while True:
        elapsed = time.time() - t0
        if elapsed > cfg.budget_s or (cfg.max_steps and step >= cfg.max_steps):
            break
        frac = elapsed / cfg.budget_s
        lr = cfg.lr * min(1.0, (step + 1) / cfg.warmup_steps) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
        for g in opt.param_groups:
            g["lr"] = lr
        xb, mb = make_batch(rng, train, cfg, tok.bos_token_id)
        x, m = torch.from_numpy(xb), torch.from_numpy(mb)
        logits = model(x).logits[:, :-1]
        loss_all = torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1), reduction="none"
        )
        loss = (loss_all * m.reshape(-1)).sum() / m.sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for _, p in params], 1.0)
        opt.step()
        with torch.no_grad():
            for tensor, cols, value in pinned:
                tensor[..., cols] = value
        step += 1
        tokens += x.numel()
        if step % cfg.eval_every == 0:
            vl, s = evaluate()
            rec = {"step": step, "tokens": tokens, "s": round(time.time() - t0, 1), "train_loss": round(loss.item(), 4),
                   "val_loss": round(vl, 4), "best_prev_token": s["best_prev_token"], "best_induction": s["best_induction"]}
            history.append(rec)
            log(json.dumps(rec))
            model.save_pretrained(out)
    vl, scores = evaluate()
    wall = time.time() - t0
    model.save_pretrained(out)
    if cfg.attn_only:
        widen_zero_mlps(out)
    summary = {"config": asdict(cfg), "steps": step, "tokens_seen": tokens, "wall_s": round(wall, 1),
               "tokens_per_s": round(tokens / wall), "val_loss": round(vl, 4), "head_scores": scores,
               "train_tokens": int(len(train)), "val_tokens": int(len(val)), "history": history}
    (out / "training.json").write_text(json.dumps(summary, indent=1))
    log(json.dumps({k: v for k, v in summary.items() if k != "history"}))
    return summary


def probe_head_scores(model, natural_x, vocab_size: int, seed: int = 0) -> dict:
    """Best previous-token score on natural text and best induction score on a repeated random probe."""
    import torch

    from interp.analysis.heads import detection_score, induction_detection, previous_token_detection, repeated_random_tokens

    model.set_attn_implementation("eager")
    try:
        att = torch.stack(model(natural_x, output_attentions=True).attentions, 1).numpy()  # [b, layer, head, q, k]
        prev = detection_score(att, previous_token_detection(att.shape[-1])).mean(0)
        probe = np.stack([repeated_random_tokens(vocab_size, 50, seed + i) for i in range(4)])
        att = torch.stack(model(torch.from_numpy(probe), output_attentions=True).attentions, 1).numpy()
        ind = np.mean([detection_score(att[i], induction_detection(probe[i])) for i in range(len(probe))], 0)
    finally:
        model.set_attn_implementation("sdpa")
    lp, hp = np.unravel_index(prev.argmax(), prev.shape)
    li, hi = np.unravel_index(ind.argmax(), ind.shape)
    return {
        "previous_token": prev.round(3).tolist(), "induction": ind.round(3).tolist(),
        "best_prev_token": [int(lp), int(hp), round(float(prev.max()), 3)],
        "best_induction": [int(li), int(hi), round(float(ind.max()), 3)],
    }
