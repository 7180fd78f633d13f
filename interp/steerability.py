"""`python -m interp steerability`: score every live feature of each embedded SAE for steering (torch).

For each feature, add its decoder direction at a few strengths (ratios ||alpha W_dec|| / mean ||resid||) on
a fixed set of held-out prompts, sample short continuations, and measure
- the effect: probability mass the steered model puts on the feature's top promoted tokens (W_dec @ W_U),
  minus the same mass without steering;
- the coherence: the continuation's mean loss under the unsteered model and its repeated-bigram rate.
A strength "works" when the effect has risen and coherence holds (interp.steer_sweep's rules). The score
is the largest effect among working strengths (0 if none). Rows of many features run as one batch.
The result is a small JSON next to the SAE (steerability.json), read by the SAE page's "features that steer".
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch

from interp.steer_batch import base_loss, mean_resid_norm, repetition_rate, steered_batch
from interp.steer_sweep import LOSS_SLACK, REP_SLACK
from interp.topics import topic_count

RATIOS = (0.25, 0.5, 1.0)
N_NEW = 12
PROMPT_TOKENS = 8  # every prompt is cut to this many tokens after BOS, so they batch without padding
# Not from the label text: two Austen-like openings and two neutral ones (no scripture prompt, so that a move
# toward scripture shows in the scripture-word count).
PROMPTS = ("She walked into the room and found her sister",
           "It was a fine morning, and Mr. Bennet said that",
           "The old house stood at the end of the road where",
           "When the letter came, everyone in the family was")
FILE = "steerability.json"


def _prompt_batch(backend) -> torch.Tensor:
    """[prompt, 1 + PROMPT_TOKENS] token ids, BOS first."""
    rows = [backend.to_tokens(p, 256)[0][0, : 1 + PROMPT_TOKENS] for p in PROMPTS]
    if any(len(r) < 1 + PROMPT_TOKENS for r in rows):
        raise ValueError("a steerability prompt is shorter than PROMPT_TOKENS")
    return torch.stack(rows)


TEXTS = ("Elizabeth was glad to find that her aunt and uncle were to stay with them at Longbourn for the week,",
         "The carriage stopped at the door, and Mrs. Jennings came in with a letter for her daughter and a")
TEXT_TOKENS = 20
CHECK = 32  # features per SAE whose continuations are generated (stage 2)


def teacher_forced(backend, sae_id: str, live: list[int], batch_features: int = 64) -> dict:
    """Stage 1, every live feature, one forward pass per batch (no sampling): steered over fixed text, the mean
    mass on the feature's promoted tokens (minus the unsteered mass) and the text's loss rise, per ratio."""
    sae = backend.sae(sae_id)
    texts = torch.stack([backend.to_tokens(t, 256)[0][0, : 1 + TEXT_TOKENS] for t in TEXTS])  # [T, n]
    n_t = len(texts)
    r_norm = mean_resid_norm(backend, sae_id, texts)
    d_norm = sae.W_dec.norm(dim=-1)
    with torch.no_grad():
        promoted = (sae.W_dec @ backend.model.W_U).topk(10, dim=-1).indices  # [d_sae, 10]
    ratios = torch.tensor((0.0,) + RATIOS)
    target = texts[:, 1:]
    out = {}
    for s in range(0, len(live), batch_features):
        feats = torch.tensor(live[s : s + batch_features])
        f_rows = feats.repeat_interleave(len(ratios) * n_t)
        values = ratios.repeat_interleave(n_t).repeat(len(feats)) * r_norm / d_norm[f_rows].clamp_min(1e-9)
        res = steered_batch(backend, sae_id, texts.repeat(len(feats) * len(ratios), 1), f_rows, values, n_new=0)
        lp = torch.as_tensor(res.prompt_logprobs)[:, :-1]  # [row, n-1, vocab]
        ce = -lp.gather(-1, target.repeat(len(feats) * len(ratios), 1)[..., None])[..., 0].mean(-1)  # [row]
        mass = lp.exp().gather(-1, promoted[f_rows][:, None, :].expand(-1, lp.shape[1], -1)).sum(-1).mean(-1)
        shape = (len(feats), len(ratios), n_t)
        ce, mass = ce.reshape(shape).mean(-1), mass.reshape(shape).mean(-1)  # [feat, ratio]
        for j, f in enumerate(feats.tolist()):
            out[f] = {"tf_rise": [round(float(m - mass[j, 0]), 4) for m in mass[j, 1:]],
                      "tf_loss_rise": [round(float(c - ce[j, 0]), 3) for c in ce[j, 1:]]}
    return out


def scan_sae(backend, sae_id: str, live: list[int], log=print, check: int = CHECK) -> dict:
    """Stage 1 for every live feature, then stage 2 (generated continuations) for the `check` features with the
    largest stage-1 rise at ratio 0.5 whose text loss rose by under 2 nats there."""
    t0 = time.perf_counter()
    tf = teacher_forced(backend, sae_id, live)
    log(f"{sae_id}: stage 1, {len(live)} features, {time.perf_counter() - t0:.0f} s")
    mid = RATIOS.index(0.5)
    order = sorted((f for f in live if tf[f]["tf_loss_rise"][mid] < 2.0), key=lambda f: -tf[f]["tf_rise"][mid])
    chosen = list(dict.fromkeys(order[:check] + topic_candidates(backend, sae_id, live)))
    result = generate_check(backend, sae_id, chosen, log=log)
    for f in live:
        result["features"].setdefault(str(f), {"score": 0.0, "range": None, "checked": False}).update(tf[f])
    result["stage1_s"] = round(time.perf_counter() - t0, 1)
    return result


def topic_candidates(backend, sae_id: str, live: list[int], k: int = 16) -> list[int]:
    """The k live features whose decoder direction, read through the unembedding, favours scripture words most
    (so that stage 2 also checks the features a topic shift needs, not only those with the largest rise)."""
    from interp.topics import SCRIPTURE

    tok = backend.model.tokenizer
    ids = [i for i in range(backend.model.cfg.d_vocab) if SCRIPTURE.fullmatch(tok.decode([i]).strip() or "-")]
    sae = backend.sae(sae_id)
    with torch.no_grad():
        eff = (sae.W_dec / sae.W_dec.norm(dim=-1, keepdim=True)) @ backend.model.W_U  # [d_sae, vocab]
        mass = torch.softmax(3 * eff, -1)[:, ids].sum(-1)
    live_t = torch.tensor(live)
    return live_t[mass[live_t].topk(min(k, len(live))).indices].tolist()


def add_topic_checks(backend, sae_id: str, path: Path, log=print) -> None:
    """Stage 2 for the topic candidates missing from a stored scan, merged into it (what scan_sae now does)."""
    data = json.loads((path / FILE).read_text())
    live = [int(f) for f in data["features"]]
    todo = [f for f in topic_candidates(backend, sae_id, live) if not data["features"][str(f)].get("checked")]
    if todo:
        extra = generate_check(backend, sae_id, todo, log=log)
        for f, v in extra["features"].items():
            data["features"][f].update(v)
    (path / FILE).write_text(json.dumps(data, separators=(",", ":")))


def generate_check(backend, sae_id: str, live: list[int], batch_features: int = 24, seed: int = 0, log=print) -> dict:
    """{feature: {"score", "range": [lo, hi] ratios or None, "rise", "loss", "rep", "scripture": per ratio}}."""
    sae = backend.sae(sae_id)
    prompts = _prompt_batch(backend)  # [P, n]
    n_p = len(prompts)
    r_norm = mean_resid_norm(backend, sae_id, prompts)
    d_norm = sae.W_dec.norm(dim=-1)  # [d_sae]
    with torch.no_grad():
        promoted = (sae.W_dec @ backend.model.W_U).topk(10, dim=-1).indices  # [d_sae, 10]
    base = steered_batch(backend, sae_id, prompts, torch.zeros(n_p, dtype=torch.long), torch.zeros(n_p),
                         n_new=N_NEW, seed=seed, sample_of=torch.arange(n_p), keep_prompt=False)
    base_probs = torch.as_tensor(base.mean_probs).mean(0)  # [vocab]
    base_l = float(base_loss(backend, base.tokens, base.n_prompt).mean())
    base_r = float(repetition_rate(base.tokens, base.n_prompt).mean())
    base_s = _scripture(backend, base.tokens, base.n_prompt).mean()
    out: dict = {}
    t0 = time.perf_counter()
    for s in range(0, len(live), batch_features):
        feats = torch.tensor(live[s : s + batch_features])
        # rows ordered feature-major, then ratio, then prompt
        f_rows = feats.repeat_interleave(len(RATIOS) * n_p)
        ratio_rows = torch.tensor(RATIOS).repeat_interleave(n_p).repeat(len(feats))
        values = ratio_rows * r_norm / d_norm[f_rows].clamp_min(1e-9)
        res = steered_batch(backend, sae_id, prompts.repeat(len(feats) * len(RATIOS), 1), f_rows, values,
                            n_new=N_NEW, seed=seed, sample_of=torch.arange(n_p).repeat(len(feats) * len(RATIOS)),
                            keep_prompt=False)
        shape = (len(feats), len(RATIOS), n_p)
        loss = base_loss(backend, res.tokens, res.n_prompt).reshape(shape).mean(-1)
        rep = repetition_rate(res.tokens, res.n_prompt).reshape(shape).mean(-1)
        probs = torch.as_tensor(res.mean_probs)
        scripture = _scripture(backend, res.tokens, res.n_prompt).reshape(shape).mean(-1) - base_s
        mass = probs.gather(-1, promoted[f_rows]).sum(-1).numpy().reshape(shape).mean(-1)  # [feat, ratio]
        for j, f in enumerate(feats.tolist()):
            rise = mass[j] - float(base_probs[promoted[f]].sum())
            ok = (loss[j] <= base_l + LOSS_SLACK) & (rep[j] <= base_r + REP_SLACK) & (rise > 0.01)
            working = [r for r, good in zip(RATIOS, ok) if good]
            out[str(f)] = {"score": round(float(rise[ok].max()) if ok.any() else 0.0, 4), "checked": True,
                           "range": [working[0], working[-1]] if working else None,
                           "rise": [round(float(x), 4) for x in rise], "loss": [round(float(x), 3) for x in loss[j]],
                           "rep": [round(float(x), 3) for x in rep[j]],
                           "scripture": [round(float(x), 3) for x in scripture[j]]}
        log(f"{sae_id}: generated for {s + len(feats)}/{len(live)} features, {time.perf_counter() - t0:.0f} s")
    return {"ratios": list(RATIOS), "base_scripture": round(float(base_s), 3), "n_new": N_NEW, "prompts": list(PROMPTS), "resid_norm": round(r_norm, 4),
            "base_loss": round(base_l, 3), "base_rep": round(base_r, 3), "loss_slack": LOSS_SLACK,
            "rep_slack": REP_SLACK, "features": out}


def _scripture(backend, tokens: np.ndarray, n_prompt: int) -> np.ndarray:
    """[row] scripture words per continuation (interp.topics)."""
    return np.array([topic_count(backend.model.tokenizer.decode(r[n_prompt:].tolist())) for r in tokens], float)


def live_features(labels_path: Path | None, d_sae: int) -> list[int]:
    """Features that fired on the held-out label text (the labels file lists only those), else all."""
    if labels_path is not None and labels_path.exists():
        return sorted(int(k) for k in json.loads(labels_path.read_text()))
    return list(range(d_sae))


def run(models=None, log=print, limit: int | None = None) -> dict:
    """Scan every embedded SAE of the given models (default: all embedded), writing steerability.json beside each."""
    from interp.backends import load_backend
    from interp.registry import REGISTRY

    torch.set_grad_enabled(False)
    summary = {}
    for name, spec in REGISTRY.models.items():
        if not spec.embedded or (models and name not in models):
            continue
        backend = load_backend(name)
        for sae_spec in spec.saes:
            t = time.perf_counter()
            sae = backend.sae(sae_spec.id)
            result = scan_sae(backend, sae_spec.id, live_features(sae_spec.labels_path, sae.cfg.d_sae)[:limit],
                              log=log)
            result["wall_s"] = round(time.perf_counter() - t, 1)
            path = sae_spec.path / FILE
            path.write_text(json.dumps(result, separators=(",", ":")))
            top = sorted(result["features"].items(), key=lambda kv: -kv[1]["score"])[:5]
            summary[f"{name}/{sae_spec.id}"] = {"wall_s": result["wall_s"], "bytes": path.stat().st_size,
                                                "top5": [(int(f), v["score"], v["range"]) for f, v in top]}
            log(json.dumps({f"{name}/{sae_spec.id}": summary[f"{name}/{sae_spec.id}"]}))
    return summary


def load(path: Path | None) -> dict:
    """The stored scan of one SAE ({} when there is none, e.g. hub SAEs, or it cannot be read)."""
    return read(path)[0]


def read(path: Path | None) -> tuple[dict, str | None]:
    """(scan, None), or ({}, one sentence) when the file is unreadable or not a scan: an optional asset, read
    defensively like labels.json (interp.labels), so a corrupt file never reaches the page as a traceback."""
    if path is None or not (path / FILE).exists():
        return {}, None
    try:
        raw = json.loads((path / FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as e:
        return {}, f"The steerability scan {FILE} could not be read ({type(e).__name__}); pick features by number."
    if not (isinstance(raw, dict) and isinstance(raw.get("features"), dict) and isinstance(raw.get("ratios"), list)):
        return {}, f"The steerability scan {FILE} is not a scan; pick features by number."
    return raw, None
