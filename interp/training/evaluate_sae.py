"""Held-out metrics for the embedded SAEs, and an offline label for every live feature.

Metrics (BOS positions excluded, as sae-lens does): explained variance 1 - sum|x - x_hat|^2 / sum|x - mean x|^2,
mean L0, dead latents (never active on the label text), and next-token cross-entropy with the SAE's
reconstruction spliced in, against the clean model and a mean-ablated hook (-> "CE loss recovered").
Labels: each live feature's most frequent top-activating tokens and its top contexts.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np


def windows(tok, docs: list[str], ctx: int = 128) -> np.ndarray:
    """[n, ctx] token windows, each starting with BOS, tiled over the concatenated docs."""
    ids: list[int] = []
    for d in docs:
        ids += [tok.bos_token_id] + tok(d, add_special_tokens=False)["input_ids"]
    body = ctx - 1
    n = len(ids) // body
    rows = [[tok.bos_token_id] + ids[i * body : (i + 1) * body] for i in range(n)]
    return np.asarray(rows, dtype=np.int64)


def evaluate_sae(model, sae, val: np.ndarray, batch: int = 32) -> dict:
    import torch

    hook = sae.cfg.metadata.hook_name
    sq_err = sq_var = 0.0
    ce = {"clean": [], "sae": [], "mean_ablation": []}
    with torch.no_grad():
        acts = torch.cat([model.run_with_cache(torch.from_numpy(val[i:i + batch]), names_filter=hook)[1][hook]
                          for i in range(0, len(val), batch)])  # [n, ctx, d]
        body = acts[:, 1:].reshape(-1, acts.shape[-1])  # BOS excluded
        mean = body.mean(0)
        feats = sae.encode(body)
        recon = sae.decode(feats)
        sq_err = float(((body - recon) ** 2).sum())
        sq_var = float(((body - mean) ** 2).sum())
        l0 = float((feats > 0).sum(-1).float().mean())

        def splice(fn):
            def hook_fn(act, hook):
                act = act.clone()
                act[:, 1:] = fn(act[:, 1:])
                return act
            return hook_fn

        for i in range(0, len(val), batch):
            x = torch.from_numpy(val[i:i + batch])
            ce["clean"].append(model(x, return_type="loss").item())
            ce["sae"].append(model.run_with_hooks(x, return_type="loss", fwd_hooks=[(hook, splice(lambda a: sae.decode(sae.encode(a))))]).item())
            ce["mean_ablation"].append(model.run_with_hooks(x, return_type="loss", fwd_hooks=[(hook, splice(lambda a: mean.expand_as(a)))]).item())
    c = {k: float(np.mean(v)) for k, v in ce.items()}
    return {
        "hook": hook,
        "tokens": int(body.shape[0]),
        "explained_variance": round(1 - sq_err / sq_var, 4),
        "mean_l0": round(l0, 2),
        "ce_clean": round(c["clean"], 4),
        "ce_with_sae": round(c["sae"], 4),
        "ce_mean_ablation": round(c["mean_ablation"], 4),
        "ce_loss_recovered": round((c["mean_ablation"] - c["sae"]) / (c["mean_ablation"] - c["clean"]), 4),
    }


def label_features(model, sae, text_windows: np.ndarray, n_contexts: int = 3, batch: int = 32) -> dict:
    """{feature: {label, top_tokens, max_act, freq, contexts}} for every feature active on the text."""
    import torch

    hook = sae.cfg.metadata.hook_name
    d_sae = sae.cfg.d_sae
    tok_counts = [Counter() for _ in range(d_sae)]
    best: list[list[tuple[float, int, int]]] = [[] for _ in range(d_sae)]  # (act, row, pos)
    fired = np.zeros(d_sae, dtype=np.int64)
    n_tokens = 0
    with torch.no_grad():
        for i in range(0, len(text_windows), batch):
            x = torch.from_numpy(text_windows[i:i + batch])
            a = model.run_with_cache(x, names_filter=hook)[1][hook]
            f = sae.encode(a)[:, 1:]  # [b, pos-1, d_sae], BOS excluded
            n_tokens += f.shape[0] * f.shape[1]
            fired += (f > 0).sum((0, 1)).numpy()
            vals, idx = f.reshape(-1, d_sae).topk(8, dim=0)  # per feature: its 8 strongest positions here
            for feat in np.nonzero(vals[0].numpy() > 0)[0]:
                for v, j in zip(vals[:, feat].tolist(), idx[:, feat].tolist()):
                    if v <= 0:
                        break
                    row, pos = i + j // f.shape[1], j % f.shape[1] + 1
                    best[feat].append((v, row, pos))
                    tok_counts[feat][int(text_windows[row, pos])] += 1
    labels = {}
    for feat in range(d_sae):
        if fired[feat] == 0:
            continue
        top = sorted(best[feat], reverse=True)
        common = [model.tokenizer.decode([t]) for t, _ in tok_counts[feat].most_common(3)]
        contexts = []
        for v, row, pos in top[:n_contexts]:
            left = model.tokenizer.decode(text_windows[row, max(1, pos - 8):pos].tolist())
            contexts.append({"left": left, "token": model.tokenizer.decode([int(text_windows[row, pos])]),
                             "act": round(v, 3)})
        labels[str(feat)] = {
            "label": " / ".join(repr(t)[1:-1] for t in common),
            "max_act": round(top[0][0], 3),
            "freq": round(float(fired[feat] / n_tokens), 6),
            "contexts": contexts,
        }
    return {"n_tokens": n_tokens, "dead": int((fired == 0).sum()), "d_sae": d_sae, "features": labels}


def evaluate_and_label(model_dir: Path, docs: list[str], label_docs: int = 120, log=print) -> dict:
    from interp.backends.transformer_lens import load_model, load_sae
    from interp.registry import SAESpec
    from interp.training.train_lm import split_docs
    from interp.training.train_sae import _spec_for

    model = load_model(_spec_for(model_dir))
    train_docs, val_docs = split_docs(docs, 0)
    val = windows(model.tokenizer, val_docs)
    label_text = windows(model.tokenizer, val_docs + train_docs[:label_docs])
    report = {}
    for folder in sorted((model_dir / "saes").iterdir()):
        if not (folder / "cfg.json").exists():
            continue
        sae = load_sae(SAESpec(id=folder.name, hook=folder.name, path=folder))
        metrics = evaluate_sae(model, sae, val)
        labels = label_features(model, sae, label_text)
        metrics.update(label_tokens=labels["n_tokens"], dead_latents=labels["dead"],
                       dead_fraction=round(labels["dead"] / labels["d_sae"], 4), d_sae=labels["d_sae"])
        (folder / "labels.json").write_text(json.dumps(labels["features"], ensure_ascii=False))
        (folder / "metrics.json").write_text(json.dumps(metrics, indent=1))
        log(json.dumps(metrics))
        report[folder.name] = metrics
    return report
