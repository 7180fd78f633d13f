"""Deploy readiness: the health check, pinned requirements, no pickles or remote code in what ships."""
import json
import re
import subprocess
import sys

from tests.conftest import ROOT
from tests.test_app import new_app


def health(*args):
    out = subprocess.run([sys.executable, "-m", "interp", "health", *args], capture_output=True, text=True, cwd=ROOT,
                         timeout=300)
    return out.returncode, json.loads(out.stdout.strip().splitlines()[-1])


def test_health_check_passes_on_the_embedded_model():
    rc, report = health()
    assert rc == 0 and report["ok"] and report["layers"] == 4, report


def test_health_check_fails_clearly_when_the_model_cannot_load():
    rc, report = health("--model", "gpt2-small")  # not in the offline cache here
    assert rc == 1 and not report["ok"] and "Could not load" in report["error"]


def test_app_says_the_model_is_loaded():
    at = new_app()
    assert any(c.value.startswith("✅ Model loaded: tiny-austen-bible · 4 layers") for c in at.sidebar.caption)


def test_requirements_are_pinned():
    for name in ("requirements.txt", "requirements-dev.txt"):
        for line in (ROOT / name).read_text().splitlines():
            line = line.split("#")[0].strip()
            if line and not line.startswith("-r"):
                assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[0-9][\w.\-+]*", line), f"{name}: {line!r} is not pinned"


def test_no_pickles_and_no_remote_code():
    shipped = [p for p in (ROOT / "assets").rglob("*") if p.is_file()]
    from tests.test_artifacts import shipped_format_problems

    assert shipped and not shipped_format_problems(shipped)
    code = "\n".join(p.read_text() for d in ("interp", "components", "views") for p in (ROOT / d).rglob("*.py"))
    code += (ROOT / "app.py").read_text()
    assert "trust_remote_code=True" not in code
    assert "torch.load(" not in code and "pickle" not in code
