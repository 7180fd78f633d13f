"""Presentation mode in a real headless Chromium at 1920x1080: the attention heatmap fills the main column and
its token labels are readable at the back of a room."""

from tests.conftest import BROWSER, wait_idle

pytestmark = BROWSER

# Vega draws axis labels as <text> in the chart's SVG (class role-axis-label); their computed font size is what
# the audience sees. The heatmap is the first chart on the attention page; the main column is the main block's
# content box (inside its padding).
MEASURE_JS = """() => {
  const block = document.querySelector('[data-testid="stMainBlockContainer"]'), css = getComputedStyle(block);
  const main = {width: block.clientWidth - parseFloat(css.paddingLeft) - parseFloat(css.paddingRight)};
  const chart = document.querySelector('[data-testid="stVegaLiteChart"]');
  const plot = chart.querySelector('.mark-rect.role-mark');
  const labels = [...chart.querySelectorAll('.role-axis-label text')];
  return {main: main.width, plot: plot.getBoundingClientRect().width, chart: chart.getBoundingClientRect().width,
          labels: labels.map(t => t.textContent),
          sizes: labels.map(t => parseFloat(getComputedStyle(t).fontSize || t.getAttribute('font-size')))};
}"""


def test_presentation_heatmap_fills_the_column_with_16px_token_labels(server, browser, output_dir):
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    page.goto(server + "/?prompt=Elizabeth+looked+at+Mr.+Darcy+and+smiled&presentation=true")
    page.locator('[data-testid="stVegaLiteChart"] .role-axis-label text').first.wait_for(timeout=120_000)
    wait_idle(page)
    assert page.get_by_role("switch", name="Presentation mode").is_checked()
    m = page.evaluate(MEASURE_JS)
    page.screenshot(path=str(output_dir / "presentation_attention.png"))
    assert m["plot"] >= 0.8 * m["main"], m  # the cells themselves, not just the chart's box
    assert "3:␣at" in m["labels"] and not any(label.isdigit() for label in m["labels"]), m["labels"]
    assert m["sizes"] and min(m["sizes"]) >= 16, m["sizes"]
    page.locator("[data-testid=stSidebar]").get_by_text("Presentation mode", exact=True).click()  # off again: the normal, smaller heatmap
    wait_idle(page)
    off = page.evaluate(MEASURE_JS)
    assert off["plot"] < 0.8 * off["main"] and max(off["sizes"]) < 16, off
    assert "presentation" not in page.url
    page.close()
