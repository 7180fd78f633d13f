"""Shared fixtures: the real embedded model and SAEs (no mocks), loaded once per test session."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never touch the network
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

OUTPUT = ROOT / "tests" / "output"
CHROMIUM = "/usr/lib/chromium/chromium"  # Debian's chromium; .ci/run installs it (never `playwright install`)


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

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server():
    port = free_port()
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    OUTPUT.mkdir(parents=True, exist_ok=True)
    log = open(OUTPUT / "streamlit.log", "wb")  # a file, not a pipe nobody reads (a full pipe blocks the server)
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        log.close()
        pytest.fail(f"streamlit did not start (see {OUTPUT / 'streamlit.log'})")
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
            "--disable-component-update", "--no-first-run"])
        yield b
        b.close()


def wait_idle(page):
    """Wait until Streamlit has finished the current run (its status widget is gone)."""
    page.wait_for_timeout(300)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=120_000)
