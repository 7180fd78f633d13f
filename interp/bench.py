"""`python -m interp bench`: speed and memory figures, measured side by side in one run.

Goals (issue #7) are printed beside each figure; nothing here is a unit test.
"""
from __future__ import annotations

import resource
import statistics
import time


def median_s(fn, repeats: int = 7) -> float:
    """Median seconds of one call, after a warm-up call."""
    return paired_medians_s({"fn": fn}, repeats)["fn"]


def paired_medians_s(fns: dict, repeats: int = 15) -> dict:
    """Median seconds of each callable, timed in turns (a, b, c, a, b, c, ...) so that a slow spell of a
    shared 2-core machine falls on all of them alike rather than on whichever ran then."""
    for fn in fns.values():
        fn()  # warm-up
    times: dict = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    return {name: statistics.median(ts) for name, ts in times.items()}


def traced_vs_hf(backend, hf, sae_id: str | None, lengths, words: str, repeats: int = 15) -> list[dict]:
    """The app's traced pass (patterns, residuals, norms, next-token distribution, and one SAE's features)
    against a bare HF forward of the same weights. Two HF baselines: its default call (logits at every
    position, fused SDPA attention) and with logits_to_keep=1 (only the last position, as a trace needs)."""
    import torch

    from interp.requests import TraceRequest

    rows = []
    for n in lengths:
        toks = backend.to_tokens(words, n)[0]  # [1, n] with BOS (backend-neutral: TL or nnsight)
        prompt = backend.decode(toks[0, 1:])
        with_sae = TraceRequest(backend.spec.name, prompt, saes=(sae_id,) if sae_id else (), max_tokens=n)
        no_sae = TraceRequest(backend.spec.name, prompt, max_tokens=n)
        with torch.no_grad():
            t = paired_medians_s({"traced": lambda: backend.trace(with_sae), "lm": lambda: backend.trace(no_sae),
                                  "hf": lambda: hf(toks), "hf_last": lambda: hf(toks, logits_to_keep=1)}, repeats)
        rows.append({"tokens": n, "traced_ms": round(1000 * t["traced"], 2),
                     "traced_without_sae_ms": round(1000 * t["lm"], 2), "hf_forward_ms": round(1000 * t["hf"], 2),
                     "hf_last_logits_ms": round(1000 * t["hf_last"], 2), "ratio": round(t["traced"] / t["hf"], 2),
                     "ratio_without_sae": round(t["lm"] / t["hf"], 2),
                     "ratio_vs_hf_last_logits": round(t["traced"] / t["hf_last"], 2), "goal": "<= 1.3x"})
    return rows


def _rss_mb() -> float:
    """Peak resident memory of this process so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    """Resident memory of this process now (Linux /proc)."""
    import os

    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def run_bench(model_name: str, with_app: bool = True) -> dict:
    import torch
    from transformers import AutoModelForCausalLM

    from interp.backends import load_backend
    from interp.requests import FeatureSteer, TraceRequest

    out: dict = {"model": model_name, "torch_threads": torch.get_num_threads()}
    t = time.perf_counter()
    backend = load_backend(model_name)
    out["load_s"] = round(time.perf_counter() - t, 2)
    spec, model = backend.spec, backend.model
    sae_id = spec.saes[len(spec.saes) // 2].id if spec.saes else None
    hf = AutoModelForCausalLM.from_pretrained(spec.source).eval() if spec.embedded else None
    words = "the quick brown fox jumps over a lazy dog and runs away " * 200

    lengths = [n for n in (16, 128, 512) if n <= model.cfg.n_ctx] or [model.cfg.n_ctx]
    if model.cfg.n_ctx not in lengths and model.cfg.n_ctx < 512:
        lengths.append(model.cfg.n_ctx)
    forward = traced_vs_hf(backend, hf, sae_id, lengths, words) if hf is not None else []
    out["traced_vs_hf_forward"] = forward
    if hf is not None:  # the same measurement through the nnsight backend (local), reported, no goal
        try:
            nn = load_backend(model_name, kind="nnsight")
        except Exception as e:  # nnsight not installed or this architecture not mapped
            out["nnsight_traced_vs_hf_forward"] = f"unavailable: {type(e).__name__}: {e}"
        else:
            rows = traced_vs_hf(nn, hf, sae_id, lengths, words, repeats=7)
            out["nnsight_traced_vs_hf_forward"] = [{**r, "goal": "reported"} for r in rows]
            del nn

    if sae_id:
        base = TraceRequest(model_name, "Elizabeth looked at Mr. Darcy and", saes=(sae_id,))
        alphas = iter(range(1, 10_000))
        steered = median_s(lambda: backend.trace(TraceRequest(
            base.model, base.prompt, base.saes, (FeatureSteer(sae_id, 3, float(next(alphas))),))))
        out["steered_update_ms"] = round(1000 * steered, 2)
        out["steered_update_goal"] = "<= 500 ms"
        from interp.steer_sweep import GRID, sweep  # the dose-response: 12 strengths x 4 samples x 20 tokens

        out["steer_sweep_s"] = round(median_s(lambda: sweep(backend, sae_id, base.prompt, 3), repeats=3), 3)
        out["steer_sweep_grid"] = len(GRID)
        out["steer_sweep_goal"] = "<= 2 s"

    # Generation as the app does it (interp.generation: TL forward with a KV cache, fast unembed) vs HF generate.
    from interp.generation import generate
    from interp.requests import GenerateRequest

    n_new = 40
    greq = GenerateRequest(TraceRequest(model_name, "Elizabeth looked at Mr. Darcy and"), n_new, temperature=0.0)
    tl_s = median_s(lambda: generate(backend, greq), repeats=5)
    gen = {"new_tokens": n_new, "app_tok_s": round(n_new / tl_s, 1)}
    if hf is not None:
        prompt_toks = model.to_tokens(greq.trace.prompt)
        with torch.no_grad():
            hf_s = median_s(lambda: hf.generate(prompt_toks, max_new_tokens=n_new, min_new_tokens=n_new,
                                                  do_sample=False, pad_token_id=0), repeats=5)
        gen.update(hf_tok_s=round(n_new / hf_s, 1), ratio=round(hf_s / tl_s, 2), goal=">= 0.8x")
    out["generate"] = gen

    from interp.charts.bertviz_view import BertvizUnavailable, head_view_html, model_view_html

    payload = []
    for n in (32, 128):
        toks = model.to_tokens(words, truncate=False)[:, :n]
        tr = backend.trace(TraceRequest(model_name, model.to_string(toks[0, 1:]), max_tokens=n))
        try:
            payload.append({"tokens": n, "head_view_bytes": head_view_html(tr, 0).n_bytes,
                            "model_view_bytes": model_view_html(tr).n_bytes})
        except BertvizUnavailable as e:
            payload.append({"tokens": n, "unavailable": str(e)})
    out["bertviz_payload"] = payload
    if spec.embedded:  # issue #17: the SAE lab's toy and real-layer presets
        from interp.sae_lab.bench import sae_lab_bench

        out["sae_lab"] = sae_lab_bench(backend)
    out["max_rss_mb"] = round(_rss_mb(), 1)
    if with_app:
        out.update(_script("bench_app.py"))
        out["gpt2_shaped_memory"] = _script("gpt2_shaped_memory.py", "--tokens", "128", "--speed")
        # the long measurement loop (issue #7's 300 prompts); tests/test_memory.py runs a short version
        out["memory_growth"] = _script("memory_growth.py", "--prompts", "300", "--warmup", "150")
        # the app page's longest main-thread pause while bertviz draws 255 tokens (goal: responsive, < 1 s)
        out.update(_script("bertviz_stall.py", "--tokens", "255"))
    return out


def _script(name: str, *args: str) -> dict:
    """App-level lines come from scripts/ in a fresh process (interp never imports streamlit)."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, str(root / "scripts" / name), *args], cwd=root, capture_output=True,
                          text=True)
    if done.returncode != 0:
        return {name: f"failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}"}
    return json.loads(done.stdout[done.stdout.index("{"):])
