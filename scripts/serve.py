"""Start the app ready for a live demo (a fresh server's first chart in about 2-3 s):

    python scripts/serve.py [streamlit options, e.g. --server.port 8502]

is `streamlit run app.py [options]` in one process that first imports the app's own modules (components/,
interp.charts, altair, pandas: ~1.5 s a first session would otherwise spend before it draws) and warms
Streamlit's emoji check for the page icon. The default view then draws from the embedded model's landing trace
(interp.landing) without the model; torch, TransformerLens and sae-lens are imported after the first session's
page is drawn (app.py preloads the model then), or HEAVY_AFTER_S seconds after the start if nobody has opened
the app by then (interp.backends.start_heavy_imports, under the project's import lock), so they never compete with a
first chart for the two cores. Plain `streamlit run app.py` works too; its first session imports the app modules.
"""
from __future__ import annotations

import importlib
import pkgutil
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
HEAVY_AFTER_S = 10.0
TORCH_USERS = {"components.sae_lab_ui"}  # imports interp.sae_lab (torch) at the top


def warm_app_modules() -> list[str]:
    """Import every module of components/ and interp.charts (what app.py and the pages import), except those
    that import torch (the SAE lab's: torch comes later, with the heavy imports)."""
    import components
    import interp.charts

    names = []
    for package in (components, interp.charts):
        for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            if info.name in TORCH_USERS:
                continue
            importlib.import_module(info.name)
            names.append(info.name)
    from streamlit.string_util import is_emoji

    is_emoji("🔎")  # compiles Streamlit's emoji pattern (~0.2 s on first use, in set_page_config)
    return names


def main() -> int:
    from interp.backends import start_heavy_imports

    warm_app_modules()
    timer = threading.Timer(HEAVY_AFTER_S, start_heavy_imports)
    timer.daemon = True
    timer.start()
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(ROOT / "app.py"), *sys.argv[1:]]
    return cli.main()


if __name__ == "__main__":
    sys.exit(main())
