"""Shared fixtures: the real embedded model and SAEs (no mocks), loaded once per test session."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never touch the network
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from scripts import app_server  # noqa: E402  (one way to start the app and Chromium, shared with the bench)
from scripts.app_server import CHROMIUM, wait_idle  # noqa: E402,F401  (tests import them from here)

OUTPUT = ROOT / "tests" / "output"

# Every real-browser module: `pytestmark = BROWSER` (Debian's chromium; on CI .ci/run installs it, so never skipped there)
BROWSER = [pytest.mark.browser,
           pytest.mark.skipif(not os.path.exists(CHROMIUM) and not os.environ.get("CI"),
                              reason="Debian chromium not installed (.ci/run installs it)")]


@pytest.fixture(scope="session")
def backend():
    from interp.backends import load_backend
    from interp.registry import DEFAULT_MODEL

    return load_backend(DEFAULT_MODEL)


@pytest.fixture(scope="session")
def spec():
    from interp.registry import DEFAULT_MODEL, REGISTRY

    return REGISTRY.get(DEFAULT_MODEL)


@pytest.fixture(scope="session")
def gemma_cache(tmp_path_factory) -> dict:
    """A reduced Gemma 2 + Gemma Scope-format JumpReLU SAEs in a fresh local hub cache (tests/gemma_cache.py);
    run checks on it with tests.gemma_probe.run_gemma_probe(info, *sections)."""
    from tests.gemma_cache import build_gemma_cache

    return build_gemma_cache(tmp_path_factory.mktemp("gemma_hf_home"))


@pytest.fixture(scope="session")
def output_dir() -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    return OUTPUT


def build_request(**overrides):
    """TraceRequest for the embedded model with sensible defaults; override any field."""
    from interp.registry import DEFAULT_MODEL, REGISTRY
    from interp.requests import TraceRequest

    spec = REGISTRY.get(DEFAULT_MODEL)
    fields = {"model": DEFAULT_MODEL, "prompt": "Elizabeth smiled at Mr. Darcy, and Mr. Darcy smiled.",
              "saes": tuple(s.id for s in spec.saes)}
    fields.update(overrides)
    return TraceRequest(**fields)


# --- real browser: `streamlit run app.py` and Debian's headless Chromium (tests marked `browser`)

@pytest.fixture(scope="session")
def server():
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with open(OUTPUT / "streamlit.log", "wb") as log:
        try:
            proc, url = app_server.start(log)
        except RuntimeError:
            pytest.fail(f"streamlit did not start (see {OUTPUT / 'streamlit.log'})")
        yield url
        app_server.stop(proc)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = app_server.launch_chromium(p)
        yield b
        b.close()
