"""Remote execution on NDIF (through nnsight), configured by the operator, never by a user.

Off unless an API key is set: the environment variable NDIF_API_KEY, or st.secrets["NDIF_API_KEY"] (the
Streamlit side reads its secrets and calls configure(); this package never imports streamlit). NDIF_HOST
overrides the endpoint. Remote models are registry entries (ModelSpec.remote); their names come from the
registry, never a path typed in the UI. Before a remote model is loaded the endpoint is checked, so an
unreachable NDIF is one sentence in the UI, not a hang or a traceback.
"""
from __future__ import annotations

import os
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass

from interp.errors import LoadError

DEFAULT_HOST = "https://api.ndif.us"
_lock = threading.Lock()
_explicit: "RemoteConfig | None" = None


@dataclass(frozen=True)
class RemoteConfig:
    api_key: str
    host: str = DEFAULT_HOST

    def __repr__(self) -> str:  # never print the key
        return f"RemoteConfig(host={self.host!r}, api_key=<{len(self.api_key)} chars>)"


def configure(api_key: str | None = None, host: str | None = None) -> RemoteConfig | None:
    """Set (or with no key, clear) the remote configuration for this process; returns it."""
    global _explicit
    with _lock:
        _explicit = RemoteConfig(api_key.strip(), (host or os.environ.get("NDIF_HOST") or DEFAULT_HOST).rstrip("/")) \
            if api_key and api_key.strip() else None
        return _explicit


def config() -> RemoteConfig | None:
    """The configuration in force: configure()'s, else NDIF_API_KEY / NDIF_HOST from the environment."""
    if _explicit is not None:
        return _explicit
    key = os.environ.get("NDIF_API_KEY", "").strip()
    return RemoteConfig(key, os.environ.get("NDIF_HOST", DEFAULT_HOST).rstrip("/")) if key else None


def enabled() -> bool:
    return config() is not None


NOT_CONFIGURED = ("Remote models run on NDIF, which this app is not configured for: the operator sets "
                  "NDIF_API_KEY (environment or .streamlit/secrets.toml). See README, 'Remote models (NDIF)'.")


def check(timeout_s: float = 5.0) -> RemoteConfig:
    """The configuration, after checking that its host answers at all (any HTTP status counts); LoadError
    with one sentence when remote is off or the host cannot be reached."""
    cfg = config()
    if cfg is None:
        raise LoadError(NOT_CONFIGURED)
    try:
        urllib.request.urlopen(urllib.request.Request(cfg.host + "/ping", method="GET"), timeout=timeout_s).close()
    except urllib.error.HTTPError:
        pass  # the host answered
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", e)
        raise LoadError(f"NDIF at {cfg.host} is unreachable ({reason}); remote models are unavailable right now. "
                        "Pick an embedded model, or try again later.") from e
    return cfg


def apply_to_nnsight(cfg: RemoteConfig) -> None:
    """Hand the key and host to nnsight (its CONFIG is process-wide)."""
    from nnsight import CONFIG

    CONFIG.API.APIKEY = cfg.api_key
    CONFIG.API.HOST = cfg.host
