"""Backends run the model. Heavy imports (torch, transformer_lens, sae_lens) happen here, lazily, once.

Importing transformer_lens and sae_lens from two threads at once raises a partially-initialised-module
ImportError, and Streamlit sessions are threads: every heavy import goes through `heavy_imports()`.
"""
from __future__ import annotations

import ctypes
import threading

_IMPORT_LOCK = threading.Lock()
_PRELOAD_LOCK = threading.Lock()  # guards _PRELOADS and _IMPORTER
_IMPORTER: threading.Thread | None = None  # the one heavy-imports thread (start_heavy_imports)
_PRELOADS: dict = {}  # model name -> concurrent.futures.Future of its backend (preload())
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


def import_locked(name: str):
    """importlib.import_module(name) under the heavy-import lock: for packages that import torch themselves
    (bertviz imports torch and IPython), so they never import it at the same time as heavy_imports()."""
    import importlib

    with _IMPORT_LOCK:
        return importlib.import_module(name)


def start_heavy_imports() -> threading.Thread:
    """Run heavy_imports() in a daemon thread, at the server process's start (scripts/serve.py): by the time the
    first browser session asks for a model, torch, TransformerLens and sae-lens are imported, or that session
    waits on the same lock for the rest (never a second, concurrent import). Once per process: later calls return
    the first thread."""
    global _IMPORTER
    with _PRELOAD_LOCK:
        if _IMPORTER is None:
            _IMPORTER = threading.Thread(target=heavy_imports, name="heavy-imports", daemon=True)
            _IMPORTER.start()
    return _IMPORTER


def backend_kind(model_name: str, kind: str | None = None) -> str:
    """The backend load_backend(model_name) builds: `kind`, else nnsight for remote models, else INTERP_BACKEND,
    else the spec's own (TransformerLens unless it says nnsight)."""
    import os

    from interp.registry import REGISTRY

    spec = REGISTRY.get(model_name)
    return kind or ("nnsight" if spec.remote else os.environ.get("INTERP_BACKEND") or spec.backend)


def preload(model_name: str):
    """Start loading a model's backend in a daemon thread, once per process, and return its Future. The next
    load_backend(model_name) takes that backend (waiting for it if need be) instead of loading a second copy, and
    the preload is then forgotten (the caller owns the backend; a failure is raised there once and tried again
    by the next call). Used when a fresh session opens on a precomputed landing trace (interp.landing): the page
    draws while the model loads."""
    from concurrent.futures import Future

    with _PRELOAD_LOCK:
        if model_name in _PRELOADS:
            return _PRELOADS[model_name]
        future = _PRELOADS[model_name] = Future()

    def run():
        try:
            future.set_result(_load_now(model_name))
        except BaseException as e:  # noqa: BLE001  (handed to whoever waits on it)
            future.set_exception(e)

    threading.Thread(target=run, name=f"preload-{model_name}", daemon=True).start()
    return future


def preload_ready(model_name: str) -> bool:
    """True once a preload of this model finished (loaded or failed); False while it runs or if none started."""
    future = _PRELOADS.get(model_name)
    return future is not None and future.done()


def load_backend(model_name: str, progress=None, kind: str | None = None):
    """Load a registry model and return its backend (interp.backends.api.ModelBackend) of backend_kind(...).
    Remote (NDIF) models are checked first: remote off or unreachable is a LoadError sentence. A preload() of the
    same model (default kind) is taken instead of loading again."""
    if kind is None:
        with _PRELOAD_LOCK:
            future = _PRELOADS.get(model_name)
        if future is not None:
            try:
                return future.result()
            finally:  # the caller owns it now (st.cache_resource may evict it); a failure is tried again next time
                with _PRELOAD_LOCK:
                    if _PRELOADS.get(model_name) is future:
                        del _PRELOADS[model_name]
    return _load_now(model_name, progress, kind)


def _load_now(model_name: str, progress=None, kind: str | None = None):
    from interp.registry import REGISTRY

    spec = REGISTRY.get(model_name)
    kind = backend_kind(model_name, kind)
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
