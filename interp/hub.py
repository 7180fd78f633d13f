"""Is a hub model loadable right now? Asked once per process (cached for a few minutes), with a short timeout.

Without this, picking gpt2-small with no network froze the app for 31-34 s (huggingface_hub's retries) on
every Run. A hub model is available when its files are in the local Hugging Face cache or the hub answers a
TCP connect within `TIMEOUT_S`; HF_HUB_OFFLINE=1 means "no hub" without any wait.
"""
from __future__ import annotations

import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from urllib.parse import urlparse

TIMEOUT_S = 2.0  # one connect; DNS included (bounded by the thread's join, getaddrinfo has no timeout)
TTL_S = 300.0  # the answer is reused this long, so a second Run never waits again
_lock = threading.Lock()
_answer: tuple[float, str | None] | None = None
probes = 0  # how many times the network was actually asked (tests read it)


def _offline() -> bool:
    return any(os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on")
               for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def _connect(host: str, port: int) -> None:
    with socket.create_connection((host, port), timeout=TIMEOUT_S):
        pass


def _probe() -> str | None:
    global probes
    probes += 1
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    url = urlparse(endpoint)
    port = url.port or (443 if url.scheme == "https" else 80)
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        pool.submit(_connect, url.hostname or "", port).result(timeout=TIMEOUT_S + 0.5)
    except FutureTimeout:
        return f"the Hugging Face hub ({endpoint}) did not answer within {TIMEOUT_S:g} s"
    except OSError as e:
        return f"the Hugging Face hub ({endpoint}) is unreachable ({type(e).__name__})"
    finally:
        pool.shutdown(wait=False)
    return None


def hub_unreachable() -> str | None:
    """None if the hub can be reached, else why not (a clause). Asks the network at most once per TTL_S."""
    global _answer
    if _offline():
        return "HF_HUB_OFFLINE is set"
    with _lock:
        if _answer is None or time.monotonic() - _answer[0] > TTL_S:
            _answer = (time.monotonic(), _probe())
        return _answer[1]


def forget() -> None:
    """Drop the cached answer (tests; a 'retry' button)."""
    global _answer
    with _lock:
        _answer = None


def _hub_cache() -> Path:
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "huggingface")
    return Path(home).expanduser() / "hub"


def _cached_locally(repo: str) -> bool:
    """The repo's config.json is in the local Hugging Face cache (its on-disk layout; importing
    huggingface_hub here would cost the first paint)."""
    folder = _hub_cache() / ("models--" + repo.replace("/", "--"))
    return any(folder.glob("snapshots/*/config.json"))


def unavailable(spec) -> str | None:
    """None if `spec` (a registry ModelSpec) can be loaded now, else one clause saying why not."""
    if spec.embedded or _cached_locally(spec.source):
        return None
    reason = hub_unreachable()
    return None if reason is None else f"not in the local cache and {reason}"
