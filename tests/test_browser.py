"""A real headless Chromium against `streamlit run app.py` (Debian's chromium, Playwright from PyPI)."""
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.conftest import ROOT

CHROMIUM = "/usr/lib/chromium/chromium"
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not os.path.exists(CHROMIUM) and not os.environ.get("CI"),
                                 reason="Debian chromium not installed (.ci/run installs it)")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = free_port()
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("streamlit did not start")
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
            "--disable-component-update", "--no-first-run"])
        yield b
        b.close()


def wait_idle(page):
    page.wait_for_timeout(300)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=120_000)


def test_app_opens_on_the_embedded_default_and_draws(server, browser, output_dir):
    page = browser.new_page(viewport={"width": 1400, "height": 1600})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server)
    page.get_by_role("heading", name="Attention patterns").wait_for(timeout=120_000)
    page.locator('[data-testid="stVegaLiteChart"]').first.wait_for(timeout=120_000)
    wait_idle(page)
    assert "model=tiny-austen-bible" in page.url
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=str(output_dir / "attention.png"))

    page.get_by_role("textbox", name="Prompt").fill("In the beginning God created the heavens and the earth.")
    page.get_by_role("button", name="Run").click()
    page.wait_for_url("**prompt=In+the+beginning*", timeout=60_000)
    wait_idle(page)
    for name, heading in (("Residual stream", "Residual stream"), ("SAE features", "SAE features")):
        page.get_by_role("link", name=name).click()
        page.get_by_role("heading", name=heading).wait_for(timeout=60_000)
        page.locator('[data-testid="stVegaLiteChart"]').first.wait_for(timeout=60_000)
        wait_idle(page)
        assert page.locator('[data-testid="stException"]').count() == 0
        page.screenshot(path=str(output_dir / f"{name.lower().replace(' ', '_')}.png"))
    assert not errors, errors
