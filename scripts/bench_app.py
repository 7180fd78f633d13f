"""App-level bench lines for `python -m interp bench` (kept out of interp/, which never imports streamlit).

    python scripts/bench_app.py [--no-browser]

- page_switch_forward_passes: forward passes run by switching between the four pages after each was
  visited once (AppTest, real Streamlit, the app's caches). Goal 0.
- first_paint: a fresh server in headless Chromium, the URL opened as soon as its health check answers: time
  until the sidebar's prompt box shows, until the first chart is drawn, and until the run is finished ("idle").
  "cold" is the first session (the default view draws from the landing trace, interp.landing, while the model
  loads after the page); "warm" is a second browser context on the same server. Median of 3 fresh servers, for
  scripts/serve.py (the demo server: the app's modules imported before it listens) and for plain
  `streamlit run app.py`. first_chart_from_start_s counts from spawning the server.
  fresh_server_first_chart_s = serve.py's cold_chart_s. Goal <= 3 s.
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
from scripts import app_server  # noqa: E402
VIEWS = ["views/attention.py", "views/residual_stream.py", "views/sae_features.py", "views/compare.py"]


def page_switch_forward_passes() -> dict:
    from streamlit.testing.v1 import AppTest

    from components import cached
    from interp.registry import DEFAULT_MODEL

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    for view in VIEWS:  # first visits compute what each page needs
        at.switch_page(view).run()
    backend = cached.load_backend(DEFAULT_MODEL)
    before = backend.forward_passes
    t = time.perf_counter()
    for view in VIEWS * 2:
        at.switch_page(view).run()
    per_switch = (time.perf_counter() - t) / (2 * len(VIEWS))
    return {"switches": 2 * len(VIEWS), "forward_passes": backend.forward_passes - before, "goal": 0,
            "apptest_ms_per_switch": round(1000 * per_switch, 1)}


def _one_server(plain: bool) -> dict:
    """A fresh server, opened as soon as its health check answers: a cold session, then a second browser context
    (nothing cached in the browser) once the first is idle."""
    from playwright.sync_api import sync_playwright

    out = {}
    t0 = time.perf_counter()
    server, url = app_server.start(plain=plain)
    try:
        out["server_start_s"] = round(time.perf_counter() - t0, 2)
        with sync_playwright() as p:
            browser = app_server.launch_chromium(p)
            for label in ("cold", "warm"):
                page = browser.new_page(viewport={"width": 1400, "height": 1200})
                t = time.perf_counter()
                page.goto(url)
                page.locator("textarea").first.wait_for(timeout=180_000)  # the sidebar's prompt box: the app is up
                out[f"{label}_prompt_box_s"] = round(time.perf_counter() - t, 2)
                page.locator('[data-testid="stVegaLiteChart"]').first.wait_for(timeout=180_000)
                out[f"{label}_chart_s"] = round(time.perf_counter() - t, 2)
                if label == "cold":
                    out["first_chart_from_start_s"] = round(time.perf_counter() - t0, 2)
                app_server.wait_idle(page, 180_000)
                out[f"{label}_idle_s"] = round(time.perf_counter() - t, 2)
                page.close()
            browser.close()
    finally:
        app_server.stop(server)
    return out


def first_paint(repeats: int = 3) -> dict:
    """Median over `repeats` fresh servers of each kind: scripts/serve.py (the demo server) and plain
    `streamlit run app.py`. fresh_server_first_chart_s is serve.py's cold_chart_s (the goal's line)."""
    import statistics

    out = {}
    for name, plain in (("serve_py", False), ("streamlit_run", True)):
        runs = [_one_server(plain) for _ in range(repeats)]
        out[name] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        out[name]["cold_chart_s_each"] = [r["cold_chart_s"] for r in runs]
    out["fresh_server_first_chart_s"] = out["serve_py"]["cold_chart_s"]
    out["goal"] = "<= 3 s (fresh_server_first_chart_s: the URL opened when the server answers, median of 3)"
    return out


def main() -> dict:
    p = argparse.ArgumentParser()
    p.add_argument("--no-browser", action="store_true")
    a = p.parse_args()
    import logging

    logging.getLogger("streamlit").setLevel(logging.ERROR)
    result = {"page_switch": page_switch_forward_passes()}
    if not a.no_browser and os.path.exists(app_server.CHROMIUM):
        result["first_paint"] = first_paint()
    return result


if __name__ == "__main__":
    print(json.dumps(main(), indent=1))
