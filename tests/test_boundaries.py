"""interp/ is the compute package: it must never import streamlit (DESIGN rule 1)."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_interp_never_imports_streamlit():
    modules = sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts)
        for p in (ROOT / "interp").rglob("*.py")
        if p.name != "__main__.py"
    )
    code = "import sys\n" + "".join(f"import {m}\n" for m in modules) + "print('streamlit' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "False"


def test_app_first_import_is_light():
    """The app's entry modules import no torch: the first paint must not wait for the heavy stack."""
    code = ("import sys; import interp.registry, interp.requests, interp.trace, interp.charts.attention, "
            "interp.analysis.heads; print(sorted(m for m in ('torch', 'transformer_lens', 'sae_lens') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"
