"""`streamlit run app.py` on a free local port, and Debian's headless Chromium: one way to start them, shared by
the browser tests (tests/conftest.py) and the app-level bench (scripts/bench_app.py)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/lib/chromium/chromium"  # Debian's chromium; .ci/run installs it (never `playwright install`)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(log=subprocess.DEVNULL, timeout_s: float = 120, plain: bool = False) -> tuple[subprocess.Popen, str]:
    """Start the app offline (scripts/serve.py: `streamlit run app.py` with the app's modules imported first; or,
    plain=True, `streamlit run app.py` itself) and wait for its health check; returns (process, base URL). `log`:
    a file for the server's output (not a pipe nobody reads: a full pipe blocks the server)."""
    port = free_port()
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    cmd = ["-m", "streamlit", "run", "app.py"] if plain else ["scripts/serve.py"]
    proc = subprocess.Popen(
        [sys.executable, *cmd, "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                return proc, url
        except OSError:
            time.sleep(0.2)
    stop(proc)
    raise RuntimeError("streamlit did not start")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def launch_chromium(playwright):
    """Headless Debian chromium through Playwright from PyPI."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


# True once the app root's script state has read "notRunning" for 300 ms in a row: a click or a URL change starts
# its rerun a moment later, so one "notRunning" reading alone could be the state before the rerun began.
_IDLE_JS = """() => {
  const state = document.querySelector('[data-testid="stApp"]')?.getAttribute('data-test-script-state');
  const now = performance.now();
  if (state !== 'notRunning') { window.__idleSince = null; return false; }
  window.__idleSince = window.__idleSince ?? now;
  return now - window.__idleSince >= 300;
}"""


def wait_idle(page, timeout_ms: int = 120_000):
    """Wait until Streamlit has finished the current run (the app root's data-test-script-state)."""
    page.evaluate("() => { window.__idleSince = null; }")
    page.wait_for_function(_IDLE_JS, polling=100, timeout=timeout_ms)
