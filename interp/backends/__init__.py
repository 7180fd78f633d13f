"""Backends run the model. Heavy imports (torch, transformer_lens, sae_lens) happen here, lazily, once.

Importing transformer_lens and sae_lens from two threads at once raises a partially-initialised-module
ImportError, and Streamlit sessions are threads: every heavy import goes through `heavy_imports()`.
"""
from __future__ import annotations

import threading

_IMPORT_LOCK = threading.Lock()


def heavy_imports():
    """Import torch, transformer_lens and sae_lens exactly once, under a lock."""
    with _IMPORT_LOCK:
        import sae_lens  # noqa: F401  (imports transformer_lens and torch)
        import torch
        import transformer_lens  # noqa: F401
    return torch


def load_backend(model_name: str, progress=None):
    """Load a registry model and return its TransformerLensBackend. progress(fraction, text) is optional."""
    heavy_imports()
    from interp.backends.transformer_lens import TransformerLensBackend
    from interp.registry import REGISTRY

    return TransformerLensBackend.load(REGISTRY.get(model_name), progress=progress)
