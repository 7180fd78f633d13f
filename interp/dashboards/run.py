"""`python -m interp dashboards`: compute every embedded SAE's dashboard file offline (torch; minutes on CPU).

Texts (documents of the Debian corpus, interp/training/corpus.py):
- label text: a fixed random subset (~label_tokens tokens) of the documents the SAEs were trained on.
  Contexts, histograms, densities, co-activation, the token index and the labels' rules come from it.
- held-out text: the validation documents (2 %, never seen by the LM or the SAEs) plus the first
  SAETrainConfig.label_docs training documents (held out from SAE training); the labeller never sees it.
  The agreement score of every label is measured there.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from interp.dashboards import build, labels
from interp.dashboards.collect import collect
from interp.dashboards.store import FILE, write


def texts(tok, docs: list[str], label_tokens: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    from interp.training.evaluate_sae import windows
    from interp.training.train_lm import split_docs

    from interp.training.train_sae import SAETrainConfig

    train_docs, val_docs = split_docs(docs, 0)
    held = SAETrainConfig.label_docs
    heldout, train_docs = val_docs + train_docs[:held], train_docs[held:]
    order = np.random.default_rng(seed).permutation(len(train_docs))
    chosen, n = [], 0
    for i in order:  # ~3.9 bytes per token on this corpus
        chosen.append(train_docs[i])
        n += len(train_docs[i]) / 3.9
        if n >= label_tokens:
            break
    return windows(tok, chosen), windows(tok, heldout)


def label_all(acts_a, acts_b, text_a, text_b, decode, ctx: int) -> list[dict]:
    pos_a, val_a, st_a = acts_a.by_feature()
    pos_b, val_b, st_b = acts_b.by_feature()
    out = []
    for f in range(acts_a.d_sae):
        va, pa = val_a[st_a[f]:st_a[f + 1]], pos_a[st_a[f]:st_a[f + 1]]
        if not len(va):
            out.append({"label": "dead: never fired on the label text", "rule": {}, "agreement": None, "holds": None})
            continue
        tau = labels.FIRE_SHARE * float(va.max())
        fire_a = pa[va >= tau]
        fire_a = fire_a[np.argsort(-va[va >= tau], kind="stable")]  # strongest first (word-piece reads the top)
        rule, f1_a = labels.derive_rule(text_a, np.sort(fire_a))
        vb, pb = val_b[st_b[f]:st_b[f + 1]], pos_b[st_b[f]:st_b[f + 1]]
        score = labels.agreement(text_b, rule, pb[vb >= tau])
        out.append({"label": labels.describe(rule, f1_a, text_a, fire_a, decode, ctx), "rule": rule,
                    "f1_label_text": round(f1_a, 3), "threshold": round(tau, 4), **score,
                    "holds": None if score["agreement"] is None else score["agreement"] >= labels.HOLDS_AT})
    return out


def summary(feats: list[dict]) -> dict:
    scores = [f["agreement"] for f in feats if f.get("agreement") is not None]
    return {"measured": len(scores), "unmeasured": len(feats) - len(scores),
            "median_agreement": round(float(np.median(scores)), 3) if scores else None,
            "share_holds": round(float(np.mean([s >= labels.HOLDS_AT for s in scores])), 3) if scores else None}


def cached_collect(model, saes: dict, windows: np.ndarray, path: Path | None) -> dict:
    """collect(), kept on disk (int16 ids, float16 values: ~45 MB per SAE for 200 k tokens) so that changing
    the labeller or the file layout does not rerun the model; reused only for the same windows."""
    from interp.dashboards.collect import SparseActs

    if path is not None and path.exists():
        z = np.load(path)
        if np.array_equal(z["windows"], windows):
            return {sid: SparseActs(z[f"{sid}/idx"].astype(np.int32), z[f"{sid}/val"].astype(np.float32),
                                    saes[sid].cfg.d_sae) for sid in saes}
    acts = collect(model, saes, windows)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, windows=windows, **{f"{sid}/idx": a.idx.astype(np.int16) for sid, a in acts.items()},
                 **{f"{sid}/val": a.val.astype(np.float16) for sid, a in acts.items()})
    return acts


def build_model_dashboards(model_dir: Path, docs: list[str], label_tokens: int = 200_000, log=print,
                           cache_dir: Path | None = None) -> dict:
    import torch

    from interp.backends.transformer_lens import load_model, load_sae
    from interp.registry import SAESpec
    from interp.training.train_sae import _spec_for

    t0 = time.perf_counter()
    model = load_model(_spec_for(model_dir))
    folders = sorted((f for f in (model_dir / "saes").iterdir() if (f / "cfg.json").exists()),
                     key=lambda f: int(f.name.split(".")[1]))
    saes = {f.name: load_sae(SAESpec(id=f.name, hook=f.name, path=f)) for f in folders}
    win_a, win_b = texts(model.tokenizer, docs, label_tokens)
    log(f"{model_dir.name}: label text {win_a.size} tokens, held-out {win_b.size}")
    acts_a, acts_b = (cached_collect(model, saes, w, cache_dir / f"{model_dir.name}_{name}.npz" if cache_dir else None)
                      for w, name in ((win_a, "label"), (win_b, "heldout")))
    log(f"activations collected in {time.perf_counter() - t0:.1f} s")
    vocab_n = model.cfg.d_vocab
    vocab = [model.tokenizer.decode([i]) for i in range(vocab_n)]
    text_a, text_b = labels.Text(win_a, vocab_n), labels.Text(win_b, vocab_n)
    with torch.no_grad():
        w_u = model.W_U.float().numpy()
        w_dec = {sid: sae.W_dec.float().numpy() for sid, sae in saes.items()}
    csr = {sid: a.csr() for sid, a in acts_a.items()}
    ids = list(saes)
    report = {}
    for i, sid in enumerate(ids):
        arrays = build.feature_arrays(acts_a[sid], win_a)
        arrays |= build.logit_arrays(w_dec[sid], w_u) | build.similar_arrays(w_dec[sid], arrays["density"] > 0)
        arrays |= build.token_index(csr[sid], win_a, vocab_n, arrays["max_act"])
        meta = {"version": 1, "model": model_dir.name, "sae": sid, "left": build.LEFT, "right": build.RIGHT,
                "n_top": build.N_TOP, "per_band": build.PER_BAND, "bands": list(build.BANDS),
                "label_tokens": int(text_a.body.sum()), "heldout_tokens": int(text_b.body.sum()),
                "fire_share": labels.FIRE_SHARE, "holds_at": labels.HOLDS_AT, "vocab": vocab}
        for side, j in (("prev", i - 1), ("next", i + 1)):
            if 0 <= j < len(ids):
                arrays |= build.lineage_arrays(side, w_dec[sid], w_dec[ids[j]], csr[sid], csr[ids[j]])
                meta[f"{side}_sae"] = ids[j]
        meta["features"] = label_all(acts_a[sid], acts_b[sid], text_a, text_b, lambda t: vocab[t], win_a.shape[1])
        meta["summary"] = summary(meta["features"])
        size = write(model_dir / "saes" / sid / FILE, arrays, meta)
        report[sid] = {**meta["summary"], "bytes": size, "label_tokens": meta["label_tokens"],
                       "heldout_tokens": meta["heldout_tokens"]}
        log(f"{sid}: {json.dumps(report[sid])}")
    report["wall_s"] = round(time.perf_counter() - t0, 1)
    return report
