"""SAE lab in a real browser (issue #17): train the toy, run the sweep, and stop a long run half-way."""
import pytest

from tests.conftest import wait_idle

pytestmark = [pytest.mark.browser]


def test_sae_lab_trains_sweeps_and_stops(server, browser, output_dir):
    page = browser.new_page(viewport={"width": 1400, "height": 3400})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server}/sae-lab")
    page.get_by_role("heading", name="SAE lab").wait_for(timeout=120_000)
    wait_idle(page)
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("6 of 6").wait_for(timeout=240_000)
    page.get_by_role("button", name="Run the sweep").click()
    page.get_by_text("Sparsity against reconstruction").first.wait_for(timeout=180_000)
    wait_idle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=str(output_dir / "sae_lab.png"))

    steps = page.get_by_label("Steps")  # a long run, stopped while it trains
    steps.fill("5000")
    steps.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("of 5,000").first.wait_for(timeout=60_000)  # the progress bar's text: the long run is on
    page.get_by_role("button", name="Stop training").click()
    page.get_by_text("Stopped at step").wait_for(timeout=60_000)
    wait_idle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert not errors, errors
