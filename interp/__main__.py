"""Command line: python -m interp {trace,bench,health,steerability,landing,dashboards,train-model,train-sae}."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL_DIR = ROOT / "assets" / "tiny-austen-bible"


def _trace(args) -> int:
    from interp.backends import load_backend
    from interp.errors import InterpError
    from interp.registry import REGISTRY
    from interp.requests import TraceRequest

    try:
        spec = REGISTRY.get(args.model)
        saes = tuple(args.sae) if args.sae else tuple(s.id for s in spec.saes[:4])
        request = TraceRequest(args.model, args.prompt, saes=saes, top_k=args.top_k)
        trace = load_backend(args.model).trace(request)
    except InterpError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    summary = trace.summary(top=args.top_k)
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=1))
    else:
        print(f"{summary['n_tokens']} tokens: {summary['tokens']}")
        print(f"attention {summary['shapes']['attention']}  mean resid_post norms {summary['resid_norm_mean']['resid_post']}")
        for sid, s in summary["saes"].items():
            print(f"{sid}: mean L0 {s['mean_l0']}")
            for t in s["tokens"][1:]:
                print(f"  {t['token']!r:>14}  " + "  ".join(f"#{f['feature']}={f['act']}" for f in t["features"]))
    return 0


def _train_model(args) -> int:
    from interp.training.corpus import build_corpus
    from interp.training.train_lm import LMConfig, train_lm

    docs = build_corpus(Path(args.workdir) / "corpus")
    cfg = LMConfig(budget_s=args.budget_s, max_steps=args.max_steps, seed=args.seed, wpe_init=args.wpe_init, repeat_frac=args.repeat_frac,
                   batch_size=args.batch_size, lr=args.lr, init_from=args.init_from, n_layer=args.n_layer,
                   attn_only=args.attn_only, prev_token_init=args.prev_token_init, freeze_prev_token_qk=args.freeze_prev_token_qk, n_head=args.n_head, span_min=args.span_min, span_max=args.span_max, tokenizer_from=args.tokenizer_from, random_span_frac=args.random_span_frac)
    train_lm(docs, Path(args.out), cfg, log=lambda m: print(m, flush=True))
    return 0


def _train_sae(args) -> int:
    from interp.training.corpus import build_corpus
    from interp.training.evaluate_sae import evaluate_and_label
    from interp.training.train_sae import SAETrainConfig, train_saes

    docs = build_corpus(Path(args.workdir) / "corpus")
    model_dir = Path(args.model_dir)
    if not args.label_only:
        cfg = SAETrainConfig(d_sae=args.d_sae, k=args.k, training_tokens=args.tokens, seed=args.seed)
        info = train_saes(model_dir, docs, cfg, log=lambda m: print(m, flush=True), layers=args.layers)
        for hook in info["folders"]:  # one record per SAE: runs may retrain some layers only
            record = {"config": cfg.__dict__, "wall_s": info["wall_s"], "tokens_per_s": info["tokens_per_s"],
                      "trained_together": sorted(info["folders"])}
            (model_dir / "saes" / hook / "training.json").write_text(json.dumps(record, indent=1))
    report = evaluate_and_label(model_dir, docs, log=lambda m: print(m, flush=True))
    (model_dir / "saes" / "metrics.json").write_text(json.dumps(report, indent=1))
    return 0


def _dashboards(args) -> int:
    from interp.dashboards.run import build_model_dashboards
    from interp.training.corpus import build_corpus

    docs = build_corpus(Path(args.workdir) / "corpus")
    report = {Path(m).name: build_model_dashboards(Path(m), docs, args.label_tokens, log=lambda x: print(x, flush=True),
                                                   cache_dir=Path(args.workdir) / "dashboards")
              for m in args.model_dir}
    print(json.dumps(report, indent=1))
    return 0


def _health(args) -> int:
    """Deploy check: the model loads and one traced pass gives finite numbers. Exit 0 and JSON, or exit 1."""
    import time

    import numpy as np

    from interp.backends import load_backend
    from interp.errors import InterpError
    from interp.registry import REGISTRY
    from interp.requests import TraceRequest

    t0 = time.perf_counter()
    try:
        spec = REGISTRY.get(args.model)
        backend = load_backend(args.model)
        t1 = time.perf_counter()
        saes = tuple(s.id for s in spec.saes[:1])
        trace = backend.trace(TraceRequest(args.model, "Health check: the model is loaded.", saes=saes))
    except InterpError as e:
        print(json.dumps({"ok": False, "model": args.model, "error": str(e)}))
        return 1
    finite = bool(np.isfinite(trace.next_token_logprobs).all() and np.isfinite(trace.attention).all())
    report = {"ok": finite, "model": args.model, "layers": trace.n_layers, "saes": list(trace.saes),
              "load_s": round(t1 - t0, 2), "trace_ms": round(1000 * (time.perf_counter() - t1), 1)}
    print(json.dumps(report))
    return 0 if finite else 1


def _bench(args) -> int:
    from interp.bench import run_bench

    print(json.dumps(run_bench(args.model, with_app=not args.no_app), indent=1))
    return 0


def _steerability(args) -> int:
    from interp.steerability import run

    print(json.dumps(run(args.model or None, log=lambda m: print(m, file=sys.stderr, flush=True)), indent=1))
    return 0


def _landing(args) -> int:
    from interp.landing import write_all

    write_all(args.model or None)
    return 0


def main(argv: list[str] | None = None) -> int:
    from interp.registry import DEFAULT_MODEL

    p = argparse.ArgumentParser(prog="python -m interp")
    sub = p.add_subparsers(dest="cmd", required=True)

    tr = sub.add_parser("trace", help="run one traced forward pass and print its summary")
    tr.add_argument("--prompt", required=True)
    tr.add_argument("--model", default=DEFAULT_MODEL)
    tr.add_argument("--sae", action="append", help="SAE id (repeatable); default: the model's first four")
    tr.add_argument("--top-k", type=int, default=5)
    tr.add_argument("--json", action="store_true")
    tr.set_defaults(func=_trace)

    be = sub.add_parser("bench", help="speed figures of the traced forward pass")
    be.add_argument("--model", default=DEFAULT_MODEL)
    be.add_argument("--no-app", action="store_true", help="skip the app-level lines (page switch, first paint, "
                    "gpt2-shaped memory)")
    be.set_defaults(func=_bench)

    he = sub.add_parser("health", help="deploy check: load the model, run one trace, exit 0 if all is well")
    he.add_argument("--model", default=DEFAULT_MODEL)
    he.set_defaults(func=_health)

    st = sub.add_parser("steerability", help="score every live feature of each embedded SAE for steering; writes "
                        "steerability.json beside each SAE")
    st.add_argument("--model", action="append", help="embedded model name (repeatable); default: all embedded")
    st.set_defaults(func=_steerability)

    la = sub.add_parser("landing", help="precompute each embedded model's default trace (landing_trace.npz): a fresh "
                        "server's first chart then waits for no model load")
    la.add_argument("--model", action="append", help="embedded model name (repeatable); default: all embedded")
    la.set_defaults(func=_landing)

    tm = sub.add_parser("train-model", help="build the corpus and tokenizer, train the embedded LM")
    tm.add_argument("--out", default=str(DEFAULT_MODEL_DIR))
    tm.add_argument("--workdir", default=str(ROOT / "build"))
    tm.add_argument("--budget-s", type=float, default=2700.0, help="wall-clock training budget")
    tm.add_argument("--seed", type=int, default=2)
    tm.add_argument("--max-steps", type=int, default=None, help="stop after this many steps")
    tm.add_argument("--wpe-init", choices=("normal", "sinusoid"), default="sinusoid")
    tm.add_argument("--repeat-frac", type=float, default=0.5, help="share of repeated-span rows per batch")
    tm.add_argument("--batch-size", type=int, default=8)
    tm.add_argument("--lr", type=float, default=3e-3)
    tm.add_argument("--init-from", default=None, help="continue training a saved model folder")
    tm.add_argument("--n-layer", type=int, default=4)
    tm.add_argument("--n-head", type=int, default=4)
    tm.add_argument("--prev-token-init", action="store_true", help="start L0H0 as a previous-token head (by construction)")
    tm.add_argument("--freeze-prev-token-qk", action="store_true",
                    help="with --prev-token-init: keep that head's query/key weights fixed (its OV is learned)")
    tm.add_argument("--span-min", type=int, default=8, help="shortest repeated span")
    tm.add_argument("--span-max", type=int, default=48, help="longest repeated span (at most n_ctx // 2 - 1)")
    tm.add_argument("--tokenizer-from", default=None, help="reuse a saved model folder's tokenizer")
    tm.add_argument("--attn-only", action="store_true", help="MLPs held at zero (attention-only model)")
    tm.add_argument("--random-span-frac", type=float, default=0.5, help="share of repeated spans that are random tokens")
    tm.set_defaults(func=_train_model)

    ts = sub.add_parser("train-sae", help="train one SAE per layer's residual stream, evaluate and label them")
    ts.add_argument("--model-dir", default=str(DEFAULT_MODEL_DIR))
    ts.add_argument("--workdir", default=str(ROOT / "build"))
    ts.add_argument("--d-sae", type=int, default=768)
    ts.add_argument("--k", type=int, default=32)
    ts.add_argument("--tokens", type=int, default=4_000_000)
    ts.add_argument("--seed", type=int, default=0)
    ts.add_argument("--layers", type=int, nargs="+", help="train these layers only (default: all)")
    ts.add_argument("--label-only", action="store_true", help="skip training; re-evaluate and re-label")
    ts.set_defaults(func=_train_sae)

    db = sub.add_parser("dashboards", help="offline feature dashboards (contexts, histograms, logits, lineage, "
                        "labels with held-out agreement) for every SAE of the embedded models")
    db.add_argument("--model-dir", nargs="+", default=[str(DEFAULT_MODEL_DIR), str(ROOT / "assets" / "tiny-induction")])
    db.add_argument("--workdir", default=str(ROOT / "build"))
    db.add_argument("--label-tokens", type=int, default=200_000, help="tokens of label text (contexts, rules)")
    db.set_defaults(func=_dashboards)

    args = p.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
