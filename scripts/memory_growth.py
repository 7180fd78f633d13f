"""Resident memory over many different prompts, through the app's own caches (components.cached).

    python scripts/memory_growth.py [--prompts 300] [--warmup 150] [--max-words 240]

Each prompt (8-240 words, so up to the 256-token context) goes through the same cached calls a page makes
(trace with the selected SAE; the compare page's feature split for its top feature), outside a Streamlit
server (st.cache_* then use in-process storage with the same bounds). Warm-up runs until the byte-bounded
trace cache is full (at least --warmup prompts); then --prompts new prompts run. Prints JSON: RSS after
warm-up, after the run, and the growth in percent. Issue #7's goal: < 10 % growth after warm-up.
"""
from __future__ import annotations

import argparse
import gc
import json
import logging
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORDS = ("Elizabeth Darcy Jane Bingley Emma God Lord earth heaven light said walked room house sister mother "
         "letter morning evening garden the a of and to in that was her his with").split()


def prompt(i: int, max_words: int = 240) -> str:
    rng = random.Random(i)
    return f"{i}: " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, max_words)))


def run(n_prompts: int = 300, warmup: int = 150, max_words: int = 240) -> dict:
    logging.getLogger("streamlit").setLevel(logging.ERROR)  # "No runtime found" warnings: expected here
    from components import cached
    from interp.bench import current_rss_mb
    from interp.registry import DEFAULT_MODEL, REGISTRY
    from interp.requests import TraceRequest

    sae = REGISTRY.get(DEFAULT_MODEL).saes[2].id

    def one(i):
        t = cached.trace(TraceRequest(DEFAULT_MODEL, prompt(i, max_words), saes=(sae,)))
        cached.feature_attribution(DEFAULT_MODEL, t.prompt, sae, int(t.saes[sae].top_idx[-1, 0]), t.n_pos - 1)

    cache = cached.trace_cache()
    i = 0
    while i < warmup or cache.nbytes < 0.9 * cache.max_bytes:
        one(i)
        i += 1
    warmup = i
    gc.collect()
    before = current_rss_mb()
    for i in range(warmup, warmup + n_prompts):
        one(i)
    gc.collect()
    after = current_rss_mb()
    return {"prompts": n_prompts, "warmup_prompts": warmup, "trace_cache_mb": round(cache.nbytes / 2**20, 1),
            "trace_cache_entries": len(cache), "rss_after_warmup_mb": round(before, 1),
            "rss_after_run_mb": round(after, 1), "growth_pct": round(100 * (after - before) / before, 2),
            "goal": "< 10 %"}


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--prompts", type=int, default=300)
    p.add_argument("--warmup", type=int, default=150)
    p.add_argument("--max-words", type=int, default=240, help="prompts of 8 to this many words")
    a = p.parse_args()
    print(json.dumps(run(a.prompts, a.warmup, a.max_words), indent=1))
