"""Command line: python -m interp {trace,bench,train-model,train-sae,label-sae}."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL_DIR = ROOT / "assets" / "tiny-austen-bible"


def _train_model(args) -> int:
    from interp.training.corpus import build_corpus
    from interp.training.train_lm import LMConfig, train_lm

    docs = build_corpus(Path(args.workdir) / "corpus")
    cfg = LMConfig(budget_s=args.budget_s, seed=args.seed)
    train_lm(docs, Path(args.out), cfg, log=lambda m: print(m, flush=True))
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m interp")
    sub = p.add_subparsers(dest="cmd", required=True)
    tm = sub.add_parser("train-model", help="build the corpus, tokenizer and the embedded LM")
    tm.add_argument("--out", default=str(DEFAULT_MODEL_DIR))
    tm.add_argument("--workdir", default=str(ROOT / "build"))
    tm.add_argument("--budget-s", type=float, default=2700.0)
    tm.add_argument("--seed", type=int, default=0)
    tm.set_defaults(func=_train_model)
    args = p.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
