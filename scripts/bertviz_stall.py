"""Main-thread stall of the app's page while bertviz draws, in headless Chromium (a bench line, not a test).

    python scripts/bertviz_stall.py [--tokens 32 64 128 255] [--json]

The app page is stood in for by a page with a heartbeat (setInterval 10 ms); a bertviz view is inserted as
Streamlit inserts it (an iframe whose srcdoc is the HTML, sandbox with allow-same-origin), either as bertviz's
document itself ("direct", how the app drew it before) or wrapped in the inner sandboxed iframe without
same-origin ("sandboxed", interp.charts.bertviz_view.sandboxed). The figure is the longest gap between
heartbeats of the outer page from insertion until the view has drawn (its SVG is in the DOM) plus 1 s:
how long the app's own page could not react to a click.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
from scripts import app_server  # noqa: E402

PARENT = """<!DOCTYPE html><html><body><div id="slot"></div><script>
window.beats = []; setInterval(() => window.beats.push(performance.now()), 10);
window.insert = (html) => { const f = document.createElement('iframe');
  f.setAttribute('sandbox', 'allow-forms allow-modals allow-popups allow-same-origin allow-scripts allow-downloads');
  f.style.width = '1200px'; f.style.height = '800px'; f.srcdoc = html; document.getElementById('slot').appendChild(f);
  window.t0 = performance.now(); };
window.maxGap = (t0) => { const b = window.beats.filter(x => x >= t0 - 20); let g = 0;
  for (let i = 1; i < b.length; i++) g = Math.max(g, b[i] - b[i - 1]); return g; };
</script></body></html>"""


def trace_of(n_tokens: int):
    from interp.backends import load_backend
    from interp.registry import DEFAULT_MODEL
    from interp.requests import TraceRequest

    backend = load_backend(DEFAULT_MODEL)
    words = ("It is a truth universally acknowledged, that a single man in possession of a good fortune, must be "
             "in want of a wife. In the beginning God created the heavens and the earth. ") * 20
    ids = backend.to_tokens(words, 4096)[0][0, 1:n_tokens]
    prompt = "".join(backend.str_tokens([int(i) for i in ids]))
    return backend.trace(TraceRequest(DEFAULT_MODEL, prompt, max_tokens=n_tokens))


def _drawn(page, timeout_s: float) -> bool:
    """True once some frame of the page holds bertviz's SVG."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for frame in page.frames[1:]:
            try:
                if frame.evaluate("document.querySelectorAll('svg *').length") > 0:
                    return True
            except Exception:  # the frame is still loading
                pass
        time.sleep(0.2)
    return False


def stall_ms(browser, html: str, timeout_s: float = 120) -> dict:
    page = browser.new_page()
    page.set_content(PARENT)
    t = time.perf_counter()
    page.evaluate("h => window.insert(h)", html)
    drawn = _drawn(page, timeout_s)
    wall = time.perf_counter() - t
    page.wait_for_timeout(1000)
    gap = page.evaluate("() => window.maxGap(window.t0)")
    page.close()
    return {"max_main_thread_gap_ms": round(gap), "drawn": drawn, "wall_s": round(wall, 1)}


def measure(lengths=(32, 64, 128, 255), views=("head", "model")) -> list[dict]:
    from playwright.sync_api import sync_playwright

    from interp.charts.bertviz_view import head_view_html, model_view_html, sandboxed

    rows = []
    with sync_playwright() as p:
        browser = app_server.launch_chromium(p)
        for n in lengths:
            trace = trace_of(n)
            for view in views:
                v = head_view_html(trace, 0) if view == "head" else model_view_html(trace)
                for how, html in (("direct", v.html), ("sandboxed", sandboxed(v.html, v.height))):
                    rows.append({"tokens": trace.n_pos, "view": view, "how": how, **stall_ms(browser, html)})
                    print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
        browser.close()
    return rows


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, nargs="+", default=[32, 64, 128, 255])
    ap.add_argument("--views", nargs="+", default=["head", "model"])
    args = ap.parse_args()
    print(json.dumps({"bertviz_stall": measure(args.tokens, args.views)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
