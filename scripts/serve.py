"""Start the app with the heavy imports already under way (a fresh server's first chart in <= 3 s):

    python scripts/serve.py [streamlit options, e.g. --server.port 8502]

is `streamlit run app.py [options]` in one process that first starts importing torch, TransformerLens and
sae-lens in a background thread (interp.backends.start_heavy_imports, under the project's import lock), so the
~4 s of imports overlap the server's own start and the browser's first connection. Plain `streamlit run app.py`
works too; it imports them when the first session asks for a model.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    from interp.backends import start_heavy_imports

    start_heavy_imports()
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(ROOT / "app.py"), *sys.argv[1:]]
    return cli.main()


if __name__ == "__main__":
    sys.exit(main())
