"""A real headless Chromium against `streamlit run app.py` (Debian's chromium, Playwright from PyPI)."""

from tests.conftest import BROWSER, wait_idle

pytestmark = BROWSER


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
    for name, heading in (("Residual stream", "Residual stream"), ("SAE features", "SAE features"),
                          ("Attention ↔ features", "Attention ↔ SAE features")):
        page.get_by_role("link", name=name).click()
        page.get_by_role("heading", name=heading).wait_for(timeout=60_000)
        page.locator('[data-testid="stVegaLiteChart"]').first.wait_for(timeout=60_000)
        wait_idle(page)
        assert page.locator('[data-testid="stException"]').count() == 0
        page.screenshot(path=str(output_dir / f"{name.lower().replace(' ', '_').replace('↔', 'to')}.png"))
    assert not errors, errors


SHARED = ("/compare?model=tiny-austen-bible&prompt=Elizabeth+looked+at+Mr.+Darcy+and+smiled&sae=blocks.2.hook_resid_post"
          "&attn_layer=1&attn_head=2&sae_token=4&sae_feature=100")


def test_a_shared_link_opens_the_same_view(server, browser, output_dir):
    """A link copied from one session restores page, prompt, SAE, layer/head, token and feature in another."""
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    page.goto(server + SHARED)
    page.get_by_role("heading", name="Attention ↔ SAE features").wait_for(timeout=120_000)
    page.locator('[data-testid="stVegaLiteChart"]').first.wait_for(timeout=120_000)
    wait_idle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    body = page.locator('[data-testid="stMain"]').inner_text()
    assert "Feature 100 of blocks.2.hook_resid_post" in body, body[:500]
    assert "token 4:" in body, body[:800]
    for label, value in (("Layer", "1"), ("Head", "2")):
        assert page.get_by_role("combobox", name=label, exact=True).input_value() == value
    assert page.get_by_role("textbox", name="Prompt").input_value() == "Elizabeth looked at Mr. Darcy and smiled"
    for part in ("attn_layer=1", "attn_head=2", "sae_token=4", "sae_feature=100"):
        assert part in page.url  # the link is still the link
    page.screenshot(path=str(output_dir / "shared_link_compare.png"), full_page=True)
    page.close()


def _steered_text(page) -> str:
    texts = page.locator('[data-testid="stText"]').all_inner_texts()
    return texts[1] if len(texts) > 1 else ""


def test_two_sessions_one_steering_one_plain(server, browser, output_dir):
    """Two real browser sessions on one server (one cached model): moving a steering slider in one changes
    its steered continuation; the other session's plain view is unchanged by it."""
    url = server + "/sae-features?model=tiny-austen-bible&prompt=She+walked+into+the+room+and&sae=blocks.2.hook_resid_post&steer_f0=464"
    a = browser.new_context(viewport={"width": 1400, "height": 1600}).new_page()
    b = browser.new_context(viewport={"width": 1400, "height": 1600}).new_page()
    for p in (a, b):
        p.goto(url)
        p.get_by_role("heading", name="SAE features").wait_for(timeout=120_000)
        wait_idle(p)
        p.locator('[data-testid="stButtonGroup"]').first.get_by_text("Steering", exact=True).click()
        p.get_by_text("Base continuation").wait_for(timeout=60_000)
        wait_idle(p)
    before_a, before_b = _steered_text(a), _steered_text(b)
    assert before_a == before_b and before_a  # strength 0: steered == base, same seed, same text
    slider = a.get_by_role("slider").first  # Strength 1
    for value in ("0.5", "1.0", "1.5"):  # one step at a time: 0 -> 1.5 x max activation
        slider.focus()
        slider.press("ArrowRight")
        a.wait_for_url(f"**steer_a0={value}*", timeout=60_000)
        wait_idle(a)
    a.wait_for_function("t => document.querySelectorAll('[data-testid=\"stText\"]')[1]?.innerText !== t",
                        arg=before_a, timeout=60_000)
    assert _steered_text(a) != before_a
    b.reload()
    b.get_by_role("heading", name="SAE features").wait_for(timeout=120_000)
    wait_idle(b)
    b.locator('[data-testid="stButtonGroup"]').first.get_by_text("Steering", exact=True).click()
    b.get_by_text("Base continuation").wait_for(timeout=60_000)
    wait_idle(b)
    assert _steered_text(b) == before_b  # the other session saw no steering
    a.screenshot(path=str(output_dir / "steering_moved.png"), full_page=True)
    for p in (a, b):
        assert p.locator('[data-testid="stException"]').count() == 0
        p.context.close()


QK_LINK = ("/compare?model=tiny-induction&sae=blocks.1.hook_resid_post&attn_layer=1&attn_head=1&qk_query=26"
           "&prompt=The+old+man+gave+the+young+girl+a+red+apple+and+a+silver+coin.+The+old+man+gave+the+young+girl+a+red"
           "+apple+and+a+silver+coin.")


def test_qk_split_tab_and_a_clicked_cell(server, browser, output_dir):
    """The QK tab draws the split of the induction head's cell, and clicking a heatmap cell picks a new cell."""
    page = browser.new_page(viewport={"width": 1400, "height": 1600})
    page.goto(server + QK_LINK)
    page.get_by_role("heading", name="Attention ↔ SAE features").wait_for(timeout=120_000)
    wait_idle(page)
    # the compare page's view control (a segmented control, like the SAE page's)
    page.locator('[data-testid="stButtonGroup"]').get_by_text("Why the head looks there (QK)", exact=True).click()
    page.get_by_text("Pre-softmax score").first.wait_for(timeout=60_000)
    wait_idle(page)
    body = page.locator('[data-testid="stMain"]').inner_text()
    assert "SAE blocks.0.hook_resid_post" in body and "resid_pre of layer 1" in body, body[:800]
    page.screenshot(path=str(output_dir / "qk_split.png"), full_page=True)
    assert "compare_view=qk" in page.url  # the view is kept in the link
    chart = page.locator('[data-testid="stMain"] [data-testid="stVegaLiteChart"]').first
    box = chart.bounding_box()
    # the lower-left part of the plot is below the diagonal (key <= query), so any cell there is a real one
    page.mouse.click(box["x"] + 0.3 * box["width"], box["y"] + 0.7 * box["height"])
    page.wait_for_url(lambda url: "qk_query=26" not in url and "qk_query=" in url, timeout=60_000)
    wait_idle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    page.goto(server + QK_LINK.replace("/compare?", "/?") + "&attn_mode=sent&attn_anatomy=true")  # value-weighted
    page.get_by_text("what each key sends").first.wait_for(timeout=120_000)
    page.get_by_text("Head anatomy").first.wait_for(timeout=60_000)
    page.get_by_text("Weighted sum of values").first.wait_for(timeout=60_000)  # the toggle from the link is on
    wait_idle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=str(output_dir / "value_weighted.png"), full_page=True)
    page.goto(server + QK_LINK.replace("/compare?", "/residual-stream?"))
    page.get_by_role("heading", name="Direct logit attribution").wait_for(timeout=120_000)
    page.get_by_text("Sum of the parts").first.wait_for(timeout=60_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    page.close()
