"""bertviz head view and model view: offline HTML (no CDN), bounded payload, tokens as text, drawn in a real browser."""
from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest

from interp.charts.bertviz_view import MAX_BYTES, head_view_html, model_view_html, vendor_js
from interp.trace import Trace
from tests.conftest import CHROMIUM, wait_idle

EVIL = "</script><script>alert(1)</script>"
needs_chromium = pytest.mark.skipif(not os.path.exists(CHROMIUM) and not os.environ.get("CI"),
                                    reason="Debian chromium not installed (.ci/run installs it)")


def make_trace(n_pos: int, n_layers: int = 4, n_heads: int = 4, tokens=None, seed: int = 0) -> Trace:
    """A hand-made Trace: causal, row-normalised random attention of the embedded model's shape (4 x 4)."""
    rng = np.random.default_rng(seed)
    attn = np.tril(rng.random((n_layers, n_heads, n_pos, n_pos))).astype(np.float32)
    attn /= attn.sum(-1, keepdims=True)
    tokens = tuple(tokens) if tokens is not None else ("<|BOS|>",) + tuple(f" w{i}" for i in range(1, n_pos))
    fields = {"model": "hand-made", "prompt": "".join(tokens[1:]), "tokens": np.arange(n_pos),
              "str_tokens": tokens, "attention": attn}
    for f in dataclasses.fields(Trace):  # every other required array (residual norms, ...): zeros
        if f.name not in fields and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            fields[f.name] = np.zeros((n_layers, n_pos), np.float32)
    return Trace(**fields)


def params_json(html: str) -> dict:
    """The params object bertviz's script is given (the one line `const params = {...};`)."""
    m = re.search(r"const params = (\{.*\});\s*$", html, flags=re.MULTILINE)
    assert m, "bertviz params line not found"
    return json.loads(m.group(1))


@pytest.fixture(scope="module", params=["head", "model"])
def view(request):
    trace = make_trace(12)
    return head_view_html(trace, 1) if request.param == "head" else model_view_html(trace)


def test_the_javascript_comes_from_installed_packages():
    js = vendor_js()
    d3_path, d3 = js["d3"]
    jq_path, jq = js["jquery"]
    assert d3_path.parts[-3:] == ("mpld3", "js", "d3.v5.min.js") and d3.startswith("// https://d3js.org v5.")
    assert jq_path.parts[-5:] == ("xstatic", "pkg", "jquery", "data", "jquery.min.js") and "jQuery v3." in jq[:200]
    assert not any(Path(__file__).resolve().parents[1] in p.parents for p in (d3_path, jq_path))  # not in the repo


def test_html_is_offline(view):
    html = view.html
    assert not re.search(r"<script\b[^>]*\bsrc\s*=", html, flags=re.IGNORECASE), "an external <script src> is left"
    assert "cdnjs" not in html and "require.config(" not in html
    assert "// https://d3js.org v5." in html and "jQuery v3." in html  # d3 5 and jQuery inlined
    assert "window.requirejs = window.require = requirejs" in html  # our AMD shim
    assert html.lower().count("</script") == 4  # d3, jQuery, shim, bertviz: nothing else can close a script


def test_attention_is_rounded_and_restricted():
    trace = make_trace(10)
    hv = head_view_html(trace, 2)
    params = params_json(hv.html)
    assert hv.layers == (2,) and params["include_layers"] == [2]
    attn = np.array(params["attention"][0]["attn"])
    assert attn.shape == (1, 4, 10, 10)
    np.testing.assert_allclose(attn[0], trace.attention[2], atol=5e-4)
    assert not re.search(r"\d\.\d{4,}", json.dumps(params["attention"])), "more than 3 decimals"
    mv = model_view_html(trace, heads=[0, 3])
    assert mv.layers == (0, 1, 2, 3) and np.array(params_json(mv.html)["attention"][0]["attn"]).shape == (4, 2, 10, 10)
    no_bos = head_view_html(trace, 0, include_bos=False)
    assert params_json(no_bos.html)["attention"][0]["left_text"] == list(trace.str_tokens[1:])


def test_payload_is_bounded(capsys):
    sizes = {}
    for n in (32, 128):
        trace = make_trace(n)
        hv, mv = head_view_html(trace, 0), model_view_html(trace)
        sizes[n] = (hv.n_bytes, mv.n_bytes)
        assert hv.n_bytes <= MAX_BYTES and mv.n_bytes <= MAX_BYTES
        assert mv.layers == (0, 1, 2, 3) and not mv.notes  # the embedded model's 4 x 4 fits whole at 128 tokens
    big = model_view_html(make_trace(256), focus_layer=3)  # the app allows 256 positions: layers are dropped
    assert big.n_bytes <= MAX_BYTES and 3 in big.layers and len(big.layers) < 4 and big.notes
    with capsys.disabled():
        for n, (h, m) in sizes.items():
            print(f"\nbertviz payload at {n} tokens (4 layers x 4 heads): head_view {h:,} B, model_view {m:,} B")
        print(f"bertviz payload at 256 tokens: model_view {big.n_bytes:,} B with layers {big.layers}")


def test_tokens_are_data_not_markup():
    tokens = ("<|BOS|>", EVIL, "a&b", "<!--", "<img src=x onerror=alert(2)>", "x\ny")
    for view in (head_view_html(make_trace(6, tokens=tokens), 0), model_view_html(make_trace(6, tokens=tokens))):
        html = view.html
        assert EVIL not in html and "<img src=x" not in html and "<!--" not in html.split("<body>", 1)[1]
        assert r"\u003c/script\u003e\u003cscript\u003ealert(1)\u003c/script\u003e" in html
        shown = params_json(html)["attention"][0]["left_text"]
        assert shown == ["<|BOS|>", EVIL, "a&b", "<!--", "<img src=x onerror=alert(2)>", "x\\ny"]


# --------------------------------------------------------------------------- real browser, no network

def _offline_page(browser, allowed_prefix: str | None):
    """A page whose every request outside `allowed_prefix` is aborted (and recorded); dialogs recorded."""
    page = browser.new_page(viewport={"width": 1400, "height": 1600}, color_scheme="dark")
    blocked, dialogs, errors = [], [], []

    def route(r):
        if allowed_prefix and r.request.url.startswith(allowed_prefix):
            return r.continue_()
        if not r.request.url.startswith(("data:", "about:")):
            blocked.append(r.request.url)
        return r.abort()

    page.route("**/*", route)
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page, blocked, dialogs, errors


@pytest.mark.browser
@needs_chromium
def test_hand_made_html_draws_offline_and_shows_tags_as_text(browser):
    tokens = ("<|BOS|>", EVIL, "<img src=x onerror=alert(2)>", " and", " text")
    page, blocked, dialogs, errors = _offline_page(browser, None)
    page.set_content(head_view_html(make_trace(5, tokens=tokens), 0).html)
    page.locator("svg text").first.wait_for(timeout=10_000)
    page.wait_for_timeout(300)
    assert EVIL in page.locator("#left text").all_text_contents()
    assert page.locator("#layer option").all_inner_texts() == ["0"]
    assert page.locator("img").count() == 0 and page.locator("script").count() == 4
    assert not dialogs and not errors and not blocked, (dialogs, errors, blocked)
    page.close()


@pytest.mark.browser
@needs_chromium
def test_attention_page_draws_bertviz_with_no_network(server, browser, output_dir):
    page, blocked, dialogs, errors = _offline_page(browser, server)
    page.goto(server)
    page.get_by_role("heading", name="Attention patterns").wait_for(timeout=120_000)
    wait_idle(page)
    iframe = page.locator('iframe[title="bertviz head view"]')
    iframe.wait_for(timeout=60_000)
    frame = page.frame_locator('iframe[title="bertviz head view"]').frame_locator('iframe[title="bertviz"]')
    frame.locator("svg text").nth(10).wait_for(timeout=30_000)
    assert frame.locator("svg text").count() > 10
    assert frame.locator("#layer option").count() >= 1, "empty Layer dropdown: bertviz's JS did not run"
    # Dark theme: light text on a dark page inside the frame.
    fill = frame.locator("#vis text").first.evaluate("e => getComputedStyle(e).fill")
    background = frame.locator("body").evaluate("e => getComputedStyle(e).backgroundColor")
    assert fill == "rgb(250, 250, 250)" and background == "rgb(14, 17, 23)", (fill, background)
    iframe.scroll_into_view_if_needed()
    iframe.screenshot(path=str(output_dir / "bertviz_head_view.png"))

    page.locator('[data-testid="stButtonGroup"]').get_by_text("bertviz model view", exact=True).click()
    model = page.frame_locator('iframe[title="bertviz model view"]').frame_locator('iframe[title="bertviz"]')
    model.locator("svg text").nth(9).wait_for(timeout=30_000)  # "Heads", "Layers" and their 4 + 4 labels
    assert model.locator("svg line").count() > 100  # the thumbnails' attention lines
    page.locator('iframe[title="bertviz model view"]').screenshot(path=str(output_dir / "bertviz_model_view.png"))
    assert page.locator('[data-testid="stException"]').count() == 0
    assert not blocked and not dialogs and not errors, (blocked, dialogs, errors)
    page.close()


@pytest.mark.browser
@needs_chromium
def test_a_prompt_with_a_script_tag_is_shown_as_text(server, browser, output_dir):
    prompt = "<script>alert(1)</script> hello"
    page, blocked, dialogs, errors = _offline_page(browser, server)
    page.goto(f"{server}/?prompt={quote(prompt)}")
    page.get_by_role("heading", name="Attention patterns").wait_for(timeout=120_000)
    wait_idle(page)
    frame = page.frame_locator('iframe[title="bertviz head view"]').frame_locator('iframe[title="bertviz"]')
    frame.locator("#left text").nth(3).wait_for(timeout=30_000)
    page.wait_for_timeout(500)
    assert prompt in "".join(frame.locator("#left text").all_text_contents())
    assert frame.locator("script").count() == 4  # the prompt added no script element
    assert not dialogs, dialogs
    assert not blocked and not errors, (blocked, errors)
    page.close()
