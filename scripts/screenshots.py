"""1920x1080 screenshots of every page into docs/, from `streamlit run app.py` in headless Chromium (offline).

    python scripts/screenshots.py [--out docs]

Each shot opens a link (the page and its view settings, as a user would share it), waits until the run has
finished (scripts/app_server.wait_idle) and saves the viewport. Rerun it after changing what a page draws.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from scripts import app_server  # noqa: E402


def _link(page: str, state: dict) -> str:
    query = {"model": state["model"], "prompt": state["prompt"], **({"sae": state["sae"]} if state.get("sae") else {}),
             **state.get("view", {})}
    return f"/{page}?{urlencode(query)}"


def shots() -> dict[str, str]:
    """file name -> link. The examples are the sidebar's own (components/examples.py)."""
    from components.examples import EXAMPLES

    def ex(prefix: str):  # an example by the start of its title (titles carry measured figures that may change)
        return next(e for e in EXAMPLES if e.title.startswith(prefix))

    prompt = urlencode({"prompt": "Elizabeth looked at Mr. Darcy and smiled, and Mr. Darcy smiled back."})
    steer = ex("Steer Austen toward scripture")
    return {
        "screenshot.png": f"/?{prompt}",
        "presentation.png": f"/?{prompt}&presentation=true",
        "residual_stream.png": f"/residual-stream?{prompt}",
        "sae_features.png": f"/sae-features?{prompt}",
        "sae_steering.png": _link(steer.page, {**steer.state, "view": {**steer.state["view"], "sae_view": "steering"}}),
        "compare.png": _link("compare", ex("Which components write 'God'").state),
        "two_prompts.png": _link("compare", ex("Two prompts").state),
        "induction_head.png": _link("", ex("Induction head").state),
        "induction_feature.png": _link("compare", ex("An induction head writes a feature").state),
        "qk_split.png": _link("compare", {**ex("Induction head").state,
                                          "view": {**ex("Induction head").state["view"], "compare_view": "qk"}}),
        "value_weighted.png": _link("", {**ex("Induction head").state,
                                         "view": {**ex("Induction head").state["view"], "attn_mode": "sent"}}),
        "features.png": f"/features?{urlencode({'feat_mode': 'token', 'feat_q': 'God'})}",
    }


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--out", default=str(ROOT / "docs"))
    out = Path(p.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    server, url = app_server.start()
    try:
        with sync_playwright() as pw:
            browser = app_server.launch_chromium(pw)
            for name, link in shots().items():
                t = time.perf_counter()
                page = browser.new_page(viewport={"width": 1920, "height": 1080})
                page.goto(url + link)
                try:  # most pages draw a chart; the Features search pane draws tables only
                    page.locator('[data-testid="stVegaLiteChart"]').first.wait_for(timeout=60_000)
                except Exception:  # playwright's TimeoutError: take the page as it is once the run is idle
                    pass
                app_server.wait_idle(page, 180_000)
                if page.locator('[data-testid="stException"]').count():
                    print(f"{name}: the page shows an exception", file=sys.stderr)
                page.screenshot(path=str(out / name))
                page.close()
                print(f"{name}: {time.perf_counter() - t:.1f} s  {link[:90]}")
            browser.close()
    finally:
        app_server.stop(server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
