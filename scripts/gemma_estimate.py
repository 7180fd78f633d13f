"""Paper estimate of gemma-2-2b's memory and trace time on this CPU, from measured pieces of the real shape.

    python3 -m scripts.gemma_estimate [--tokens 128] [--out tests/output/gemma_estimate.json]

Builds random Gemma2ForCausalLM folders with gemma-2-2b's layer shape (d_model 2304, 8 query heads sharing 4
key/value heads of 256, d_mlp 9216) but few layers and a small vocabulary, loads each through the app's own
loader (interp.backends.transformer_lens.load_model, Gemma Scope's processing flags) in a fresh process, and
measures peak RSS during the load, RSS after it, and the median wall / CPU time of backend.trace() at
--tokens tokens. Three configurations isolate the cost of one layer (2 layers - 1 layer) and of the vocabulary
(64,000 - 512 tokens, scaled to 256,000), then

    full = one-layer model + 25 x per layer + 256000/63488 x vocabulary part

for fp32 and bf16. Runs ~5-10 minutes on 2 shared cores; nothing here runs in the test suite.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHAPE = dict(hidden_size=2304, intermediate_size=9216, num_attention_heads=8, num_key_value_heads=4, head_dim=256,
             query_pre_attn_scalar=256, sliding_window=4096, max_position_embeddings=8192)
FULL_LAYERS, FULL_VOCAB, SMALL_VOCAB, MID_VOCAB = 26, 256_000, 512, 64_000
FULL_PARAMS = 2_614_341_888  # gemma-2-2b (tied embedding)


def build(folder: Path, n_layers: int, vocab: int) -> None:
    import torch
    from transformers import Gemma2Config, Gemma2ForCausalLM

    sys.path.insert(0, str(ROOT))
    from tests.gemma_cache import _tokenizer

    torch.manual_seed(0)
    cfg = Gemma2Config(vocab_size=vocab, num_hidden_layers=n_layers, pad_token_id=0, eos_token_id=1, bos_token_id=2,
                       architectures=["Gemma2ForCausalLM"], **SHAPE)
    Gemma2ForCausalLM(cfg).save_pretrained(folder, safe_serialization=True)
    _tokenizer().save_pretrained(folder)  # ids < 512: enough to run a prompt


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(folder: str, dtype: str, tokens: int, reps: int) -> dict:
    """In a fresh process: load through the app's loader, then trace."""
    import gc

    sys.path.insert(0, str(ROOT))
    from interp.backends import heavy_imports

    heavy_imports()
    from interp.backends.transformer_lens import TransformerLensBackend, load_model
    from interp.registry import GEMMA_SCOPE_PROCESSING, ModelSpec
    from interp.requests import TraceRequest

    import threading

    gc.collect()
    base = _rss()
    peak, loading = [base], threading.Event()

    def sample():  # ru_maxrss also counts transient import-time peaks; sample RSS during the load itself
        while not loading.is_set():
            peak[0] = max(peak[0], _rss())
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    spec = ModelSpec(name="estimate", title="estimate", source=folder,
                     from_pretrained_kwargs=GEMMA_SCOPE_PROCESSING + (("dtype", dtype),))
    t0 = time.perf_counter()
    model = load_model(spec)
    load_s = time.perf_counter() - t0
    loading.set()
    sampler.join()
    gc.collect()
    out = {"load_s": load_s, "rss_after_load": _rss() - base,
           "peak_during_load": peak[0] - base,
           "params": sum(p.numel() for p in model.parameters())}
    b = TransformerLensBackend(spec, model)
    prompt = " ".join(["The old man gave the young girl a red apple by the river."] * 40)
    req = TraceRequest("estimate", prompt, max_tokens=tokens)
    walls, cpus = [], []
    for _ in range(reps + 1):
        w, c = time.perf_counter(), time.process_time()
        t = b.trace(req)
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    out.update(n_pos=t.n_pos, trace_wall_s=statistics.median(walls[1:]), trace_cpu_s=statistics.median(cpus[1:]),
               rss_after_trace=_rss() - base, threads=__import__("torch").get_num_threads())
    return out


def _run(folder: Path, dtype: str, tokens: int, reps: int) -> dict:
    code = f"import json, sys; sys.path.insert(0, {str(ROOT)!r}); from scripts.gemma_estimate import measure; " \
           f"print('EST ' + json.dumps(measure({str(folder)!r}, {dtype!r}, {tokens}, {reps})))"
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=1800)
    lines = [l for l in p.stdout.splitlines() if l.startswith("EST ")]
    if not lines:
        raise RuntimeError(p.stderr[-3000:])
    return json.loads(lines[-1][4:])


def estimate(tokens: int = 128, reps: int = 2, dtypes=("float32", "bfloat16")) -> dict:
    out: dict = {"tokens": tokens, "configs": {}, "full": {}}
    with tempfile.TemporaryDirectory(prefix="gemma-est-") as tmp:
        folders = {}
        for n_layers, vocab in ((1, SMALL_VOCAB), (2, SMALL_VOCAB), (1, MID_VOCAB)):
            folders[(n_layers, vocab)] = f = Path(tmp) / f"gemma-shape-{n_layers}l-{vocab}v"
            build(f, n_layers, vocab)
        for dtype in dtypes:
            m = {k: _run(f, dtype, tokens, reps) for k, f in folders.items()}
            out["configs"][dtype] = {f"{k[0]}l-{k[1]}v": v for k, v in m.items()}
            one, two, wide = m[(1, SMALL_VOCAB)], m[(2, SMALL_VOCAB)], m[(1, MID_VOCAB)]
            vscale = (FULL_VOCAB - SMALL_VOCAB) / (MID_VOCAB - SMALL_VOCAB)
            full = {}
            for key in ("peak_during_load", "rss_after_load", "rss_after_trace", "trace_wall_s", "trace_cpu_s", "params"):
                layer, vocab = two[key] - one[key], wide[key] - one[key]
                full[key] = one[key] + (FULL_LAYERS - 1) * layer + vscale * vocab
                full[key + "_per_layer"] = layer
            out["full"][dtype] = full
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--dtypes", default="float32,bfloat16")
    ap.add_argument("--out", default=str(ROOT / "tests" / "output" / "gemma_estimate.json"))
    a = ap.parse_args()
    res = estimate(a.tokens, a.reps, tuple(a.dtypes.split(",")))
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=1))
    for dtype, f in res["full"].items():
        print(f"{dtype}: params {f['params'] / 1e9:.2f} B in TL, peak RSS during load {f['peak_during_load'] / 2**30:.1f} GiB, "
              f"RSS after load {f['rss_after_load'] / 2**30:.1f} GiB, trace {res['tokens']} tokens "
              f"{f['trace_wall_s']:.1f} s wall / {f['trace_cpu_s']:.1f} s CPU")


if __name__ == "__main__":
    main()
