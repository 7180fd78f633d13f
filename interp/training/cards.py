"""Short cards beside the embedded artifacts: data, configuration, steps, metrics (from the training JSON)."""
from __future__ import annotations

import json
from pathlib import Path

DATA = ("Public-domain English from Debian packages: Jane Austen's six novels (r-cran-janeaustenr), the World "
        "English Bible (sword-text-web) and Bierce's Devil's Dictionary (dict-devil); ~9.4 MB of text in "
        "~4 KB documents, 2 % of documents held out for validation (seeded split).")


def _fmt_heads(scores: dict, key: str) -> str:
    rows = scores[key]
    return "\n".join(f"| L{l} | " + " | ".join(f"{v:.3f}" for v in row) + " |" for l, row in enumerate(rows))


def model_card(model_dir: Path) -> str:
    segs = [json.loads(p.read_text()) for p in sorted(model_dir.glob("training_*.json"))]
    final = segs[-1]
    c = final["config"]
    heads = final["head_scores"]
    n_heads = len(heads["previous_token"][0])
    header = "| layer | " + " | ".join(f"H{h}" for h in range(n_heads)) + " |\n|---|" + "---|" * n_heads
    lines = [
        "# tiny-austen-bible",
        "",
        f"A GPT-2-architecture causal LM (HF `GPT2LMHeadModel`): {c['n_layer']} layers, d_model {c['d_model']}, "
        f"{c['n_head']} heads, d_mlp {c['d_mlp']}, context {c['n_ctx']}, byte-level BPE vocabulary {c['vocab_size']} "
        "(id 0 = `<|endoftext|>` = BOS), tied embeddings, fp32 safetensors.",
        "",
        f"**Data.** {DATA}",
        "",
        "**Objective.** Next-token cross-entropy on prose windows ([BOS] + 255 tokens). In a share of the rows "
        "(*repeat rows*) a span S is repeated so that only looking back can predict it; the first copy is not "
        "scored. Segment 1 tiled S periodically (S S S ..., period 2-64); segments 2 and 3 write S (8-48 random or "
        "prose tokens) twice into the prose window at random places. See \"What did not work\".",
        "",
        "**Training** (CPU, 2 cores; AdamW b=(0.9, 0.95), wd 0.1 except biases/LayerNorm/positions, cosine LR over a "
        "wall-clock budget, grad-clip 1.0):",
        "",
        "| segment | start | batch x ctx | peak LR | repeat share | steps | tokens | wall | tok/s | val loss |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for i, s in enumerate(segs):
        k = s["config"]
        start = "segment %d" % i if k.get("init_from") else f"random init ({k.get('wpe_init', 'normal')} positions)"
        lines.append(f"| {i + 1} | {start} | {k['batch_size']} x {k['n_ctx']} | {k['lr']} | "
                     f"{k['repeat_frac']} | {s['steps']:,} | {s['tokens_seen']:,} | {s['wall_s'] / 60:.1f} min | "
                     f"{s['tokens_per_s']:,} | {s['val_loss']:.3f} |")
    lines += [
        "",
        f"Final validation loss {final['val_loss']:.3f} nats/token on {final['val_tokens']:,} held-out tokens.",
        "",
        "**Head scores** (TransformerLens `detect_head` \"mul\" measure; previous-token on held-out prose, "
        "induction on [BOS] + 50 random tokens repeated twice, max ~0.5 there):",
        "",
        "Previous-token:", "", header, _fmt_heads(heads, "previous_token"), "",
        "Induction:", "", header, _fmt_heads(heads, "induction"), "",
        f"Best previous-token head L{heads['best_prev_token'][0]}H{heads['best_prev_token'][1]} "
        f"({heads['best_prev_token'][2]:.3f}); best induction head L{heads['best_induction'][0]}H{heads['best_induction'][1]} "
        f"({heads['best_induction'][2]:.3f}).",
        "",
        "Reproduce: `assets/TRAINING.md` (the exact commands).",
        "",
        "## What did not work (measured here, same machine)",
        "",
        "- Prose only, 4 layers d128, 24 min (shared notes): val loss 4.21, no previous-token or induction head "
        "(scores <= 0.09 / 0.02).",
        "- Learned positions + 35 % periodic repeat rows (S S S ..., period 8-64 then 2-64), 1,750 steps of 12 x 256 "
        "then 3,000 steps of 8 x 256: best previous-token score 0.03, induction 0.015, val loss 5.2.",
        "- Sinusoidal position init + 50 % periodic repeat rows, 4,500 steps (segment 1 above): previous-token 0.03, "
        "induction 0.01, val loss 5.20. Adjacent position embeddings ended anti-correlated (cos -0.05 to -0.25): "
        "periodic rows reward position-parity shortcuts, not induction.",
        "- Switching the repeat rows to two copies at random places (segment 2) made a previous-token head appear "
        "within 1,000 steps and val loss fall from 5.20 to about 4.3.",
    ]
    return "\n".join(lines) + "\n"


def sae_card(sae_dir: Path) -> str:
    info_path = sae_dir / "training.json"
    train_info = json.loads(info_path.read_text()) if info_path.exists() else None
    cfg = json.loads((sae_dir / "cfg.json").read_text())
    m = json.loads((sae_dir / "metrics.json").read_text())
    lines = [
        f"# SAE {sae_dir.name}",
        "",
        f"TopK SAE (sae-lens `{cfg['architecture']}`), k={cfg.get('k')}, {cfg['d_sae']} latents on d_model {cfg['d_in']}, "
        f"reading and writing `{cfg['metadata']['hook_name']}` of {cfg['metadata'].get('model_name') or sae_dir.parent.parent.name} (loaded with TransformerLens's "
        f"default processing, model_from_pretrained_kwargs {cfg['metadata'].get('model_from_pretrained_kwargs')}), "
        f"context {cfg['metadata'].get('context_size')}, BOS prepended and excluded from training.",
        "",
        "Trained with sae-lens's MultiSAETrainingRunner (one LM forward pass feeds every SAE trained in a run) on the "
        "training documents minus the label set." + (
            f" {train_info['config']['training_tokens']:,} tokens, lr {train_info['config']['lr']}, "
            f"{train_info['wall_s'] / 60:.1f} min wall ({len(train_info['trained_together'])} SAE(s) trained in that run)."
            if train_info else ""),
        "",
        "| metric (held-out, BOS excluded) | value |",
        "|---|---|",
        f"| explained variance | {m['explained_variance']:.3f} |",
        f"| mean L0 | {m['mean_l0']:.1f} |",
        f"| CE loss clean / with SAE / mean-ablated | {m['ce_clean']:.3f} / {m['ce_with_sae']:.3f} / {m['ce_mean_ablation']:.3f} |",
        f"| CE loss recovered | {m['ce_loss_recovered']:.3f} |",
        f"| dead latents (never active on {m['label_tokens']:,} label tokens) | {m['dead_latents']} / {m['d_sae']} "
        f"({100 * m['dead_fraction']:.1f} %) |",
        "",
        "`labels.json`: for every live latent, its three most frequent top-activating tokens (the label), its "
        "maximum activation, firing frequency and three top contexts, computed on held-out text.",
    ]
    return "\n".join(lines) + "\n"


def write_cards(model_dir: Path) -> None:
    (model_dir / "MODEL_CARD.md").write_text(model_card(model_dir))
    for d in sorted((model_dir / "saes").iterdir()):
        if (d / "metrics.json").exists():
            (d / "CARD.md").write_text(sae_card(d))


def induction_model_card(model_dir: Path) -> str:
    """Card of the attention-only model, from its training.json (one run) and the app loader's probe scores."""
    t = json.loads((model_dir / "training.json").read_text())
    c, heads = t["config"], t["head_scores"]
    n_heads = len(heads["previous_token"][0])
    header = "| layer | " + " | ".join(f"H{h}" for h in range(n_heads)) + " |\n|---|" + "---|" * n_heads
    hist = ["| step | tokens | train loss | val loss | best previous-token | best induction |", "|---|---|---|---|---|---|"]
    for r in t["history"]:
        if r["step"] % 500 and r["step"] != t["steps"]:
            continue
        hist.append(f"| {r['step']:,} | {r['tokens'] / 1e6:.1f} M | {r['train_loss']:.2f} | {r['val_loss']:.3f} | "
                    f"L{r['best_prev_token'][0]}H{r['best_prev_token'][1]} {r['best_prev_token'][2]:.3f} | "
                    f"L{r['best_induction'][0]}H{r['best_induction'][1]} {r['best_induction'][2]:.3f} |")
    lines = [
        "# tiny-induction",
        "",
        f"An attention-only causal LM in GPT-2's file format (HF `GPT2LMHeadModel`): {c['n_layer']} layers, d_model "
        f"{c['d_model']}, {c['n_head']} heads, context {c['n_ctx']}, the BPE tokenizer of tiny-austen-bible "
        f"(vocabulary {c['vocab_size']}), tied embeddings, fp32 safetensors. Its MLPs are zero (width 4 x d_model in "
        "the file because TransformerLens assumes that shape for GPT-2; they output exactly 0), so the app loads it "
        "with the same code as every other model. It exists to show a previous-token head and an induction head; "
        "one TopK SAE per layer (`saes/*/CARD.md`) lets the compare page show which heads write a feature.",
        "",
        f"**Data.** {DATA}",
        "",
        f"**Objective.** Next-token loss on [BOS] + 255-token windows in which a span S of {c['span_min']}-{c['span_max']} "
        f"tokens is written twice at random places ({int(100 * c['repeat_frac'])} % of rows; S is random tokens in "
        f"{int(100 * c['random_span_frac'])} % of them, prose otherwise); the first copy is not scored.",
        "",
        "**Scaffold** (`--prev-token-init --freeze-prev-token-qk`): a sin/cos position code lives in 32 dims of the "
        "position embedding (frozen; token embeddings are kept out of those dims), and L0H0's query/key weights "
        "are set so that position p's query matches position p - 1's key, and kept fixed. Everything else is "
        "learned: L0H0's value/output (what it copies), the embeddings, and all of layer 1. The induction head L1H1 "
        "is learned: it appeared abruptly after about 15 M tokens (the table below), as induction heads do.",
        "",
        f"**Training** (CPU, 2 cores; AdamW b=(0.9, 0.95), wd {c['weight_decay']}, cosine LR from {c['lr']} over a "
        f"{c['budget_s'] / 60:.0f}-minute budget, batch {c['batch_size']} x {c['n_ctx']}, seed {c['seed']}): "
        f"{t['steps']:,} steps, {t['tokens_seen'] / 1e6:.1f} M tokens, {t['wall_s'] / 60:.1f} min, "
        f"{t['tokens_per_s']:,} tokens/s. Validation loss {t['val_loss']:.3f} on held-out prose (the "
        "4-layer model with MLPs reaches 4.198).",
        "",
        *([f"**Which checkpoint.** {t['note']}", ""] if t.get("note") else []),
        *hist,
        "",
        f"**Head scores of the shipped checkpoint (step {t['steps']:,})** (the \"mul\" measure of TransformerLens's "
        "head detector on the HF weights; previous-token on held-out prose, induction on [BOS] + 50 random tokens "
        "repeated, ~0.5 is perfect there). Through the app's loader (TransformerLens-processed weights, "
        "`tests/test_artifacts.py`): previous-token 0.53 with `detect_head` on an Austen passage, induction 0.44.",
        "",
        "Previous-token:", "", header, _fmt_heads(heads, "previous_token"), "",
        "Induction:", "", header, _fmt_heads(heads, "induction"), "",
        "Reproduce: `assets/TRAINING.md`.",
    ]
    return "\n".join(lines) + "\n"
