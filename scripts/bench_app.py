"""App-level bench lines for `python -m interp bench` (kept out of interp/, which never imports streamlit).

    python scripts/bench_app.py [--no-browser]

- page_switch_forward_passes: forward passes run by switching between the four pages after each was
  visited once (AppTest, real Streamlit, the app's caches). Goal 0.
- first_paint_s: `streamlit run app.py` in headless Chromium: time from opening the URL until the first
  chart is drawn and the run is finished (and, before that, until the sidebar's prompt box shows). "cold"
  includes the first model load in a fresh server; "warm" is a second browser session on the same server.
  fresh_server_first_chart_s (= cold_chart_s): the server is scripts/serve.py, which starts importing torch,
  TransformerLens and sae-lens when the process starts; ..._from_start_s counts from spawning the server.
  Goal <= 3 s.
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


def first_paint() -> dict:
    from playwright.sync_api import sync_playwright

    out = {}
    t0 = time.perf_counter()
    server, url = app_server.start()
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
                    out["fresh_server_first_chart_from_start_s"] = round(time.perf_counter() - t0, 2)
                app_server.wait_idle(page, 180_000)
                out[f"{label}_idle_s"] = round(time.perf_counter() - t, 2)
                page.close()
            browser.close()
    finally:
        app_server.stop(server)
    # a fresh server (scripts/serve.py: heavy imports started with the process): first chart after opening the URL
    out["fresh_server_first_chart_s"] = out["cold_chart_s"]
    out["goal"] = "<= 3 s (fresh_server_first_chart_s)"
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
