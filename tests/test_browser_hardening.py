"""Issue #13 in a real browser: adversarial prompts typed into the app, bertviz's sandbox, the page's
responsiveness while bertviz draws 255 tokens, and link text never rendered as a link or image."""
from urllib.parse import quote

from tests.conftest import BROWSER, wait_idle

pytestmark = BROWSER

HEAD = 'iframe[title="bertviz head view"]'
ADVERSARIAL = [  # two runs: HTML and a script end tag; a right-to-left override and a NUL
    '<img src=x onerror=alert(1)> <b id="injected">bold</b> Mr. Darcy </script><script>alert(2)</script> smiled',
    "Elizabeth \u202egnissim\u202c and Jane\x00 smiled at Harriet",
]
HEARTBEAT = """() => { window.__beats = []; setInterval(() => window.__beats.push(performance.now()), 10); }"""
MAX_GAP = """() => { const b = window.__beats; let g = 0; for (let i = 1; i < b.length; i++) g = Math.max(g, b[i] - b[i-1]);
                     return g; }"""


def _open(browser, url, viewport=(1400, 1600)):
    page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
    dialogs, errors = [], []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.get_by_role("heading", name="Attention patterns").wait_for(timeout=120_000)
    wait_idle(page)
    return page, dialogs, errors


def _inner(page, outer=HEAD):
    return page.frame_locator(outer).frame_locator('iframe[title="bertviz"]')


def test_adversarial_prompts_typed_in_stay_text_in_a_sandboxed_frame(server, browser):
    page, dialogs, errors = _open(browser, server)
    for prompt in ADVERSARIAL:
        page.get_by_role("textbox", name="Prompt").fill(prompt)
        page.get_by_role("button", name="Run").click()
        wait_idle(page)
        page.wait_for_timeout(500)
        inner = _inner(page)
        inner.locator("#left text").nth(2).wait_for(timeout=60_000)
        shown = "".join(inner.locator("#left text").all_text_contents())
        assert "smiled" in shown, shown
        assert inner.locator("script").count() == 4  # d3, jQuery, the shim, bertviz: the prompt added none
        assert inner.locator("img, b, iframe, object, embed").count() == 0  # no injected DOM
        assert page.locator("#injected").count() == 0 and page.locator('[data-testid="stException"]').count() == 0
    # bertviz runs in a frame that cannot reach the app: Streamlit's own iframe allows same-origin (a srcdoc
    # frame then runs as the app); the inner frame is sandboxed without it (an opaque origin).
    frame = next(f for f in page.frames if f.parent_frame is not None and f.parent_frame.parent_frame is not None)
    reach = frame.evaluate("() => { try { return String(window.parent.document.title); } catch (e) { return 'blocked: ' + e.name; } }")
    assert reach.startswith("blocked"), reach
    assert frame.evaluate("() => window.origin") == "null"
    assert not dialogs and not errors, (dialogs, errors)
    page.close()


def test_links_do_not_render_markdown_in_messages(server, browser):
    """?model=[Click to re-login](https://...) and ?sae=![t](http://host/track.png): shown as text."""
    requests = []
    page = browser.new_page(viewport={"width": 1400, "height": 1200})
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"{server}/?model={quote('[Click to re-login](https://evil.example/login)')}"
              f"&sae={quote('![t](http://127.0.0.9:9/track.png)')}")
    page.get_by_role("heading", name="Attention patterns").wait_for(timeout=120_000)
    wait_idle(page)
    alerts = page.locator('[data-testid="stAlert"]')
    text = " ".join(alerts.all_inner_texts())
    assert "Click to re-login" in text and "track.png" in text, text
    assert alerts.locator("a, img").count() == 0
    assert not [u for u in requests if u.startswith(("https://evil.example", "http://127.0.0.9"))]
    page.close()


def test_bertviz_at_255_tokens_leaves_the_page_responsive(server, browser):
    """Above 64 positions bertviz waits to be asked; asked at 255 positions, it draws in its sandboxed frame
    (another process) while the app page's main thread keeps running: its longest pause is measured."""
    prompt = ("It is a truth universally acknowledged, that a single man in possession of a good fortune, must be "
              "in want of a wife. ") * 12
    page, dialogs, errors = _open(browser, f"{server}/?prompt={quote(prompt)}")
    page.get_by_text("bertviz is not drawn for prompts over 64 positions").wait_for(timeout=120_000)
    assert page.locator(HEAD).count() == 0
    page.get_by_text("Draw bertviz for all 256 positions").click()  # Streamlit reruns the page, then bertviz draws
    page.locator(HEAD).wait_for(timeout=60_000)
    page.evaluate(HEARTBEAT)  # from here bertviz draws: 25-50 s at this size, measured (scripts/bertviz_stall.py)
    page.wait_for_timeout(8_000)
    gap = page.evaluate(MAX_GAP)
    print(f"bertviz at 256 positions: longest main-thread pause of the app page {gap:.0f} ms in 8 s")
    # Drawn in the app's own frame, the page froze for the whole draw (>= 8 s of this window). On a busy
    # 2-core machine the idle page itself shows pauses up to ~1.5 s, hence the margin.
    assert gap < 5_000, gap
    assert not dialogs and not errors, (dialogs, errors)
    page.close()
