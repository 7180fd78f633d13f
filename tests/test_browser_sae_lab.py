"""SAE lab in a real browser (issue #17): train the toy and run the sweep (the screenshot is docs/sae_lab.png).
Stopping a run half-way is not covered here yet: a first version of this test timed out waiting for the
"Stopped at step" notice on a machine at load 15-20, and there was no time left to find out why."""
from tests.conftest import BROWSER, wait_idle

pytestmark = BROWSER


def test_sae_lab_trains_and_sweeps(server, browser, output_dir):
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

    assert not errors, errors
