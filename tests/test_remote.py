"""Remote (NDIF) models: listed only when configured; one clear sentence when not configured or unreachable.
No network: the unreachable endpoint is a closed port on this machine."""
from __future__ import annotations

import socket

import pytest

from interp import remote
from interp.errors import LoadError
from interp.registry import REGISTRY

REMOTE = "llama-3.1-8b"


@pytest.fixture
def no_remote(monkeypatch):
    monkeypatch.delenv("NDIF_API_KEY", raising=False)
    monkeypatch.delenv("NDIF_HOST", raising=False)
    remote.configure(None)
    yield
    remote.configure(None)


def _closed_port() -> int:
    with socket.socket() as s:  # bind, read the port, close: nothing listens there afterwards
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_remote_models_are_listed_only_when_configured(no_remote, monkeypatch):
    assert REMOTE not in REGISTRY.names() and "tiny-austen-bible" in REGISTRY.names()
    assert REGISTRY.get(REMOTE).remote and REGISTRY.get(REMOTE).backend == "nnsight"
    monkeypatch.setenv("NDIF_API_KEY", "test-key")
    assert REMOTE in REGISTRY.names()
    assert "test-key" not in repr(remote.config())  # the key is never printed


def test_a_remote_model_without_configuration_is_one_sentence(no_remote):
    from interp.backends import load_backend

    with pytest.raises(LoadError, match="not configured for.*NDIF_API_KEY"):
        load_backend(REMOTE)


def test_an_unreachable_endpoint_is_one_sentence(no_remote):
    from interp.backends import load_backend

    remote.configure("test-key", f"http://127.0.0.1:{_closed_port()}")
    with pytest.raises(LoadError, match="unreachable.*Pick an embedded model"):
        load_backend(REMOTE)


def test_the_llama_scope_release_is_one_sae_lens_knows():
    from sae_lens.loading.pretrained_saes_directory import get_pretrained_saes_directory

    spec = REGISTRY.get(REMOTE)
    release = get_pretrained_saes_directory()[spec.saes[0].release]
    assert release.model == spec.source
    assert {s.sae_id for s in spec.saes} <= set(release.saes_map)
