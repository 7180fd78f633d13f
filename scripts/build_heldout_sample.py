"""Write assets/heldout_sample.jsonl: held-out documents for the SAE lab's real-layer preset.

They are the first documents of the LM's validation split (interp.training.train_lm.split_docs, seed 0):
neither the embedded LMs nor their SAEs saw them. Rebuild (Debian apt-get, rdata from requirements-dev.txt):
    python scripts/build_heldout_sample.py --workdir /tmp/interp-work --max-chars 100000
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workdir", default="/tmp/interp-work")
    ap.add_argument("--max-chars", type=int, default=100_000)
    args = ap.parse_args()
    from interp.training.corpus import build_corpus
    from interp.training.train_lm import split_docs

    _, val = split_docs(build_corpus(Path(args.workdir) / "corpus"), 0)
    out, total = [], 0
    for doc in val:
        if total + len(doc) > args.max_chars:
            break
        out.append(doc)
        total += len(doc)
    path = ROOT / "assets" / "heldout_sample.jsonl"
    path.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in out) + "\n")
    print(f"{len(out)} of {len(val)} validation documents, {total:,} characters -> {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
