"""Backends run the model. Heavy imports (torch, transformer_lens, sae_lens) happen here, lazily, once.

Importing transformer_lens and sae_lens from two threads at once raises a partially-initialised-module
ImportError, and Streamlit sessions are threads: every heavy import goes through `heavy_imports()`.
"""
from __future__ import annotations

import ctypes
import threading

_IMPORT_LOCK = threading.Lock()
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc mallopt parameters


def return_freed_memory_to_os(threshold: int = 1 << 16) -> bool:
    """Make glibc give large freed blocks back to the OS.

    By default glibc raises its mmap threshold each time a large block is freed, so later tensors of that
    size come from the heap and stay resident after they are freed, and evicted cache entries leave holes.
    Measured with the thresholds left alone / fixed at 1 MiB / fixed at 64 KiB:
    - gpt2-small-shaped model, RSS after tracing 128 tokens (scripts/gpt2_shaped_memory.py):
      1.44-1.92 GB / 1.37 GB / 1.33 GB;
    - tiny model, RSS growth over 300 prompts after the trace cache is full (scripts/memory_growth.py):
      - / 11.9 % / 3.2 %.
    No-op (False) where libc is not glibc."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, threshold)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, threshold))
    except (OSError, AttributeError):
        return False


def heavy_imports():
    """Import torch, transformer_lens and sae_lens exactly once, under a lock."""
    with _IMPORT_LOCK:
        return_freed_memory_to_os()
        import sae_lens  # noqa: F401  (imports transformer_lens and torch)
        import torch
        import transformer_lens  # noqa: F401
    return torch


def start_heavy_imports() -> threading.Thread:
    """Run heavy_imports() in a daemon thread, at the server process's start (scripts/serve.py): by the time the
    first browser session asks for a model, torch, TransformerLens and sae-lens are imported, or that session
    waits on the same lock for the rest (never a second, concurrent import)."""
    thread = threading.Thread(target=heavy_imports, name="heavy-imports", daemon=True)
    thread.start()
    return thread


def load_backend(model_name: str, progress=None, kind: str | None = None):
    """Load a registry model and return its backend (interp.backends.api.ModelBackend): the spec's own kind
    (TransformerLens unless it says nnsight), or `kind`, or INTERP_BACKEND=nnsight for every local model.
    Remote (NDIF) models are checked first: remote off or unreachable is a LoadError sentence."""
    import os

    from interp.registry import REGISTRY

    spec = REGISTRY.get(model_name)
    kind = kind or ("nnsight" if spec.remote else os.environ.get("INTERP_BACKEND") or spec.backend)
    if spec.remote:
        from interp import remote

        cfg = remote.check()  # before the heavy imports: an unreachable NDIF fails fast
        heavy_imports()
        remote.apply_to_nnsight(cfg)
    heavy_imports()
    if kind == "nnsight":
        from interp.backends.nnsight_backend import NNsightBackend

        return NNsightBackend.load(spec, progress=progress, remote=spec.remote)
    from interp.backends.transformer_lens import TransformerLensBackend

    return TransformerLensBackend.load(spec, progress=progress)
