"""A real headless Chromium against `streamlit run app.py` (Debian's chromium, Playwright from PyPI)."""
import os

import pytest

from tests.conftest import CHROMIUM, wait_idle

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not os.path.exists(CHROMIUM) and not os.environ.get("CI"),
                                 reason="Debian chromium not installed (.ci/run installs it)")]


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
