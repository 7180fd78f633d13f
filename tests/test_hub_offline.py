"""Issue #18 item 1 and #13 failure 8: hub models with no hub. The hub is asked once, briefly; unavailable
entries say so in the model box; a Run of one is refused at once (no second wait); a model that fails to load
falls back loudly and the sidebar names the model actually loaded. No network: the "hub" is a local port."""
import socket
import time

import pytest

from interp import hub
from tests.test_app import assert_clean, new_app


@pytest.fixture
def hub_at(monkeypatch):
    """Point the hub probe at a local endpoint: `hub_at(listening)` -> its URL. Not listening = refused
    (unreachable); listening = reachable (while huggingface_hub itself, imported offline, still loads nothing)."""
    sockets = []

    def endpoint(listening: bool) -> str:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        if listening:
            s.listen(8)
            sockets.append(s)
        else:
            s.close()  # nothing listens on this port now: connections are refused
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
        hub.forget()
        return f"http://127.0.0.1:{port}"

    yield endpoint
    hub.forget()
    for s in sockets:
        s.close()


def test_unreachable_hub_is_asked_once_and_marks_hub_models(hub_at):
    url = hub_at(listening=False)
    before = hub.probes
    t = time.perf_counter()
    at = new_app()
    assert_clean(at)
    assert hub.probes == before + 1  # one short wait...
    box = at.selectbox(key="model_box")
    titles = list(box.options)  # as shown (formatted)
    assert any("gpt2-small" in t and "unavailable" in t for t in titles), titles  # ...a clear disabled entry...
    said = [c.value for c in at.sidebar.caption]
    assert any(c.startswith("gpt2-small: unavailable") and url in c for c in said), said
    box.set_value("gpt2-small")
    at.button(key="run").click().run()
    elapsed = time.perf_counter() - t
    assert_clean(at)
    assert any("gpt2-small is unavailable" in e.value for e in at.error), [e.value for e in at.error]
    assert hub.probes == before + 1  # ...and no second wait
    assert at.query_params["model"] == "tiny-austen-bible"
    assert elapsed < 60, elapsed  # AppTest runs included; the old path waited 31-34 s per Run


def test_a_model_that_fails_to_load_falls_back_and_the_sidebar_says_so(hub_at):
    """The hub answers (a local port), so gpt2-small is offered; huggingface_hub (imported offline) cannot
    fetch it, the load fails: the error is shown, and the sidebar's box names the embedded model."""
    hub_at(listening=True)
    at = new_app()
    at.selectbox(key="model_box").set_value("gpt2-small")
    at.button(key="run").click().run()
    assert_clean(at)
    assert any("Falling back to the embedded default" in e.value for e in at.error), [e.value for e in at.error]
    assert at.selectbox(key="model_box").value == "tiny-austen-bible"
    assert at.query_params["model"] == "tiny-austen-bible"
    assert any("Model loaded: tiny-austen-bible" in c.value for c in at.sidebar.caption)
