"""Real headless Chromium: search on the Features page, open a hit, follow a lineage link (tests marked browser)."""

from tests.conftest import BROWSER, wait_idle

pytestmark = BROWSER


def test_search_open_a_feature_and_follow_its_lineage(server, browser, output_dir):
    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server + "/features?model=tiny-austen-bible&feat_q=God")
    page.get_by_role("heading", name="Features").wait_for(timeout=120_000)
    hit = page.locator(".st-key-feat_hit0 button")
    hit.wait_for(timeout=120_000)
    wait_idle(page)
    name = hit.inner_text().strip()  # e.g. "L2 resid_post #464"
    hit.click()
    page.get_by_role("heading", name=name.replace(" #", " · feature #")).wait_for(timeout=60_000)
    page.locator('[data-testid="stVegaLiteChart"]').first.wait_for(timeout=60_000)
    wait_idle(page)
    assert "feat_pane=Feature" in page.url
    link = page.locator(".st-key-feat_view_lin0 button")
    target = link.inner_text().strip()
    link.click()
    page.get_by_role("heading", name=target.replace(" #", " · feature #")).wait_for(timeout=60_000)
    wait_idle(page)
    assert f"feat_id={target.split('#')[1]}" in page.url
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=str(output_dir / "features_lineage.png"))
    assert not errors, errors
