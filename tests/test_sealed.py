"""The backend is a boundary: the Streamlit side (app.py, components/, views/) never touches a model.

Checked by reading the source (grep and the AST), so the test fails on the line that breaks the rule:
- `.model` is read only from plain request/result values (trace.model is a model *name*), never a backend;
- only components/cached.py gets a backend (load_backend), and it calls only the verbs of
  interp.backends.api.ModelBackend on it;
- no torch, TransformerLens, sae-lens or nnsight import, no hooks, forward calls or the forward lock;
- no import of the implementation modules that sit behind the backend.
"""
from __future__ import annotations

import ast
import re

import pytest

from interp.backends.api import METHODS, ModelBackend
from tests.conftest import ROOT

UI_FILES = sorted([ROOT / "app.py", *(ROOT / "components").glob("*.py"), *(ROOT / "views").glob("*.py")])
PLAIN_HOLDERS = {"trace", "trace_b", "steered", "request", "req", "record", "c", "current", "spec", "info", "choice",
                 "link"}  # interp.boundary.Link: a parsed URL, its .model a name
FORBIDDEN_IMPORTS = ("torch", "transformer_lens", "sae_lens", "nnsight", "interp.sae_tools", "interp.generation",
                     "interp.attribution", "interp.lean_forward", "interp.steering", "interp.backends.transformer_lens",
                     "interp.backends.nnsight", "interp.backends.common", "interp.backends.tl_patches")
FORBIDDEN_TEXT = re.compile(r"run_with_cache|\.hooks\(|\.lock\b|forward_passes|\.run\(\s*tokens|\.logits\(|"
                            r"hook_dict|\.cfg\.|backend\.model\b|\.model\.(cfg|tokenizer|parameters|blocks|W_U)")


def _ids(path):
    return path.relative_to(ROOT).as_posix()


@pytest.mark.parametrize("path", UI_FILES, ids=_ids)
def test_no_model_access_from_the_streamlit_side(path):
    text = path.read_text()
    tree = ast.parse(text)
    problems = [f"line {text[:m.start()].count(chr(10)) + 1}: {m.group(0)!r}" for m in FORBIDDEN_TEXT.finditer(text)]
    backends = set()  # names bound to load_backend(...)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for name in names:
                if any(name == f or name.startswith(f + ".") for f in FORBIDDEN_IMPORTS):
                    problems.append(f"line {node.lineno}: imports {name}")
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "load_backend":
            if path.name != "cached.py":
                problems.append(f"line {node.lineno}: load_backend outside components/cached.py")
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and \
                getattr(node.value.func, "id", getattr(node.value.func, "attr", None)) == "load_backend":
            backends |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        v = node.value
        on_backend = (isinstance(v, ast.Call) and getattr(v.func, "id", getattr(v.func, "attr", None)) == "load_backend") \
            or (isinstance(v, ast.Name) and v.id in backends)
        if on_backend and node.attr not in METHODS:
            problems.append(f"line {node.lineno}: backend.{node.attr} is not a verb of ModelBackend")
        if node.attr == "model":
            holder = v.id if isinstance(v, ast.Name) else getattr(getattr(v, "func", None), "attr", None)
            if holder not in PLAIN_HOLDERS:
                problems.append(f"line {node.lineno}: .model read from {ast.unparse(v)!r}")
    assert not problems, f"{_ids(path)} reaches past the backend interface:\n" + "\n".join(problems)


def test_the_check_catches_a_model_access(tmp_path):
    """The rule itself can fail: a page that reads backend.model is caught."""
    assert FORBIDDEN_TEXT.search("cfg = backend.model.cfg")
    assert FORBIDDEN_TEXT.search("n = cached.load_backend(m).model.tokenizer.decode")


def test_both_backends_implement_the_interface(backend):
    assert isinstance(backend, ModelBackend)
    missing = [m for m in METHODS if not hasattr(backend, m)]
    assert not missing
    info = backend.info
    assert (info.n_layers, info.d_model, info.n_heads) == (backend.model.cfg.n_layers, backend.model.cfg.d_model,
                                                          backend.model.cfg.n_heads)
    assert info.n_params == sum(p.numel() for p in backend.model.parameters())
