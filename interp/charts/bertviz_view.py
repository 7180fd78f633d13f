"""bertviz head view and model view as self-contained, offline HTML (no network, no streamlit).

bertviz's own HTML (``html_action="return"``) loads require.js, d3 5 and jQuery from a CDN; without a
network it shows an empty "Layer:" dropdown and nothing else. Here the CDN ``<script src>`` and the
``require.config`` block are removed and replaced by:

* d3 5.7.0, read at run time from the ``mpld3`` package (``mpld3/js/d3.v5.min.js``),
* jQuery 3.7.1, read at run time from ``xstatic-jquery`` (``xstatic/pkg/jquery/data/jquery.min.js``),
* a few lines of our own: an AMD shim, ``requirejs(deps, cb)`` -> ``cb(jQuery, d3)``.

Both packages are in requirements.txt; no third-party JavaScript is kept in this repository.

Tokens are data, never markup: bertviz writes them into a ``<script>`` as JSON, and JSON does not
escape ``</script>``. The tokens are therefore handed to bertviz as random placeholders, and each
placeholder is replaced by the token's JSON with ``<``, ``>`` and ``&`` written as ``\\u003c`` etc.;
bertviz draws them with d3's ``.text()``, so they show as text.

The payload is bounded: attention is rounded (3 decimals by default), the head view carries one layer,
and the model view keeps as many layers (nearest the focus layer first) as fit in ``max_bytes``.
"""
from __future__ import annotations

import functools
import importlib.util
import json
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

# Measured in headless Chromium on the 2-core dev machine (scripts/bertviz_stall.py; bench line bertviz_stall):
# seconds until a view has drawn, and the longest pause of the app page's main thread meanwhile.
DRAW_LIMIT_TOKENS = 64  # above this, the views are drawn only when the user asks
STALL_NOTE = ("bertviz draws one SVG line per weight: at 128 positions the model view took 19-22 s to draw and the "
              "head view 5 s; at 255 positions 49-53 s and 25-28 s (headless Chromium on a busy 2-core machine). "
              "In its sandboxed frame the rest of the page stays responsive (longest pause 0.3-0.4 s, against "
              "48 s when drawn in the app's own frame), but the view stays blank meanwhile and keeps a CPU core busy.")
MAX_BYTES = 5_000_000  # the bound at 128 tokens; also enforced at any length (layers dropped)
DECIMALS = 3


class BertvizUnavailable(RuntimeError):
    """bertviz or the packages that supply its JavaScript (mpld3, xstatic-jquery) are missing."""


@dataclass(frozen=True)
class BertvizHTML:
    html: str  # a complete, self-contained HTML document
    layers: tuple[int, ...]  # the layers it carries
    heads: tuple[int, ...]  # the heads it carries
    height: int  # CSS pixels the drawing needs (for sizing an iframe)
    notes: tuple[str, ...] = ()  # sentences for the user (layers left out to keep the payload bounded)

    @property
    def n_bytes(self) -> int:
        return len(self.html.encode("utf-8"))


# --------------------------------------------------------------------------- the JavaScript we inline

def _package_dir(module: str) -> Path:
    """The folder of an installed package, found without importing it (mpld3 would import matplotlib)."""
    try:
        spec = importlib.util.find_spec(module)
    except ModuleNotFoundError:
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise BertvizUnavailable(
            f"The Python package {module!r} is not installed; it supplies JavaScript that bertviz needs "
            "offline. Run `pip install -r requirements.txt`.")
    return Path(next(iter(spec.submodule_search_locations)))


@functools.lru_cache(maxsize=None)
def vendor_js() -> dict[str, tuple[Path, str]]:
    """{'d3': (path, code), 'jquery': (path, code)} read from the installed packages."""
    d3_path = _package_dir("mpld3") / "js" / "d3.v5.min.js"
    jq_path = _package_dir("xstatic.pkg.jquery") / "data" / "jquery.min.js"
    out = {}
    for name, path in (("d3", d3_path), ("jquery", jq_path)):
        if not path.is_file():
            raise BertvizUnavailable(f"{path} is missing: reinstall the package that ships it "
                                     "(`pip install -r requirements.txt`).")
        code = path.read_text(encoding="utf-8")
        # An inline <script> ends at the first "</script"; neither file has one today, but be sure.
        code = re.sub(r"</(script)", r"<\\/\1", code, flags=re.IGNORECASE)
        out[name] = (path, code)
    if not re.match(r"\s*//\s*https://d3js\.org v5\.", out["d3"][1]):
        raise BertvizUnavailable(f"{d3_path} is not d3 version 5, which bertviz's JavaScript is written for.")
    return out


# Our own code: bertviz calls require.config(...) and requirejs(['jquery', 'd3'], cb).
_AMD_SHIM = """
(function () {
  var modules = {jquery: window.jQuery, d3: window.d3};
  function requirejs(deps, cb) {
    return cb.apply(null, deps.map(function (name) {
      if (!modules[name]) { throw new Error("bertviz offline shim: no module " + name); }
      return modules[name];
    }));
  }
  requirejs.config = function () {};
  window.requirejs = window.require = requirejs;
})();
"""

_CSS_COMMON = """
html, body { margin: 0; padding: 0; }
body { padding: 8px 10px; font-family: "Source Sans Pro", "Helvetica Neue", Helvetica, Arial, sans-serif; }
select { font: inherit; padding: 1px 4px; border-radius: 4px; }
"""
# Streamlit's dark theme, on an opaque page of its own (so it is readable whatever the app's theme):
# bertviz's head view draws tokens with no fill (so black) and a light-grey hover box; the model view has a
# dark mode, except for its axis labels, hard-coded black. CSS beats SVG presentation attributes.
_CSS_DARK = """
html, body { background: #0e1117; color: #fafafa; color-scheme: dark; }
select { background: #262730; color: #fafafa; border: 1px solid #555; }
#vis text:not([fill]) { fill: #fafafa; }
#vis rect.background { fill: #3b3f4a; }
#vis text[fill="black"] { fill: #ccc; }
"""
_CSS_LIGHT = """
html, body { background: #ffffff; color: #111111; color-scheme: light; }
"""


# --------------------------------------------------------------------------- building the page

def _safe_json(value) -> str:
    """JSON that cannot end a <script> or open a comment when inlined in HTML."""
    return (json.dumps(value).replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _display_token(tok: str) -> str:
    return tok.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")


def _prepare(trace, include_bos: bool, decimals: int):
    """(tensors: one [1, head, q, k] float64 per layer, rounded; display tokens)."""
    import torch

    attn = np.asarray(trace.attention, dtype=np.float64)
    tokens = [_display_token(t) for t in trace.str_tokens]
    if not include_bos:
        attn, tokens = attn[:, :, 1:, 1:], tokens[1:]
    if not tokens:
        raise ValueError("no tokens to show")
    attn = np.round(attn, decimals) + 0.0  # float64, so .tolist() prints 0.123, not 0.12300000339...
    return tuple(torch.from_numpy(np.ascontiguousarray(attn[layer][None])) for layer in range(attn.shape[0])), tokens


def _offline(bertviz_html: str, tokens: list[str], placeholders: list[str], dark: bool, title: str) -> str:
    # bertviz's template line is `const params = PYTHON_PARAMS; // HACK: PYTHON_PARAMS is a template marker...`
    # and str.replace fills both markers: the whole payload again inside a comment. Drop the comment.
    bertviz_html = re.sub(r"; // HACK: [^\n]*", ";", bertviz_html, count=1)
    # Tokens: swap the placeholders (plain ASCII, JSON-quoted by bertviz) for escaped JSON strings.
    index = {p: i for i, p in enumerate(placeholders)}
    pattern = re.compile('"(' + re.escape(placeholders[0].rsplit("-", 1)[0]) + r'-\d+)"')
    body, n = pattern.subn(lambda m: _safe_json(tokens[index[m.group(1)]]), bertviz_html)
    if n < len(tokens):
        raise RuntimeError(f"bertviz output carried {n} token placeholders, expected at least {len(tokens)}")
    # No network: drop every external <script src> (require.js from the CDN) and bertviz's require.config
    # (CDN paths for d3 and jQuery); the shim below answers requirejs() from the inlined copies.
    body = re.sub(r"<script\b[^>]*\bsrc\s*=[^>]*>\s*</script>", "", body, flags=re.IGNORECASE)
    body = re.sub(r"require\.config\(\s*\{.*?\}\s*\}\s*\);", "", body, count=1, flags=re.DOTALL)
    js = vendor_js()
    css = _CSS_COMMON + (_CSS_DARK if dark else _CSS_LIGHT)
    return (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
        f"<title>{title}</title>\n<style>{css}</style>\n"
        f"<script>/* d3 5 from the mpld3 package */\n{js['d3'][1]}\n</script>\n"
        f"<script>/* jQuery from the xstatic-jquery package */\n{js['jquery'][1]}\n</script>\n"
        f"<script>{_AMD_SHIM}</script>\n"
        f"</head><body>\n{body}\n</body></html>\n"
    )


def sandboxed(html: str, height: int) -> str:
    """`html` inside an inner <iframe sandbox="allow-scripts"> (no allow-same-origin): its scripts run with an
    opaque origin, so they cannot reach the app's page, its cookies or its storage. Streamlit's own iframe
    (st.iframe) is sandboxed with allow-same-origin, and a srcdoc document inherits the app's origin, so
    without this wrapper bertviz would run as the app. bertviz needs only scripts (no storage, no parent)."""
    import html as _html

    return ('<!DOCTYPE html>\n<html><head><meta charset="utf-8"><style>html,body{margin:0;padding:0;overflow:hidden}'
            'iframe{border:0;width:100%;display:block}</style></head><body>'
            f'<iframe sandbox="allow-scripts" title="bertviz" style="height:{int(height)}px" '
            f'srcdoc="{_html.escape(html, quote=True)}"></iframe></body></html>\n')


def _stable_ids(html: str) -> str:
    """bertviz names its root div 'bertviz-' + a random uuid on every call, so the same view and data made a
    different page each rerun and the browser redrew it (tens of seconds on long prompts). One view per
    document: a fixed id is unique."""
    return re.sub(r"bertviz-[0-9a-f]{32}", "bertviz-view", html)


def _placeholders(n: int) -> list[str]:
    nonce = uuid.uuid4().hex[:16]
    return [f"bvtok{nonce}-{i}" for i in range(n)]


def _check_layers(trace, layers: Sequence[int]) -> list[int]:
    layers = sorted({int(layer) for layer in layers})
    bad = [layer for layer in layers if not 0 <= layer < trace.n_layers]
    if bad or not layers:
        raise ValueError(f"layers {bad or layers} out of range: the model has {trace.n_layers} layers")
    return layers


def _layer_cost(tensors, layers: Sequence[int]) -> dict[int, int]:
    """JSON bytes each layer's attention adds to the page (rounded numbers, as bertviz serialises them)."""
    return {layer: len(json.dumps(tensors[layer][0].tolist())) for layer in layers}


def _fit(tensors, wanted: list[int], focus: int | None, budget: int) -> tuple[list[int], list[int]]:
    """Keep the wanted layers nearest `focus` whose attention fits in `budget` bytes; (kept, dropped)."""
    cost = _layer_cost(tensors, wanted)
    focus = wanted[0] if focus is None else focus
    kept, used = [], 0
    for layer in sorted(wanted, key=lambda l: (abs(l - focus), l)):
        if used + cost[layer] + 2 > budget and kept:
            continue
        kept.append(layer)
        used += cost[layer] + 2
    return sorted(kept), sorted(set(wanted) - set(kept))


def _overhead_bytes() -> int:
    return sum(len(code.encode()) for _, code in vendor_js().values()) + 40_000  # + bertviz JS, CSS, shim


def _build(trace, render, wanted: list[int], focus: int | None, include_bos: bool, decimals: int,
           max_bytes: int, title: str, dark: bool) -> tuple[str, list[int], list[str], list[str]]:
    """Render with the layers nearest `focus` that fit; if the real page is still too big, drop one more
    layer, or (one layer left) round to fewer decimals. Returns (html, layers kept, tokens, notes)."""
    tensors, tokens = _prepare(trace, include_bos, decimals)
    budget = max_bytes - _overhead_bytes() - 4 * len(json.dumps(tokens))
    kept, _ = _fit(tensors, wanted, focus, budget)
    focus = wanted[0] if focus is None else focus
    while True:
        ph = _placeholders(len(tokens))
        html = _stable_ids(_offline(render(tensors, ph, kept), tokens, ph, dark, title))
        if len(html.encode("utf-8")) <= max_bytes:
            break
        if len(kept) > 1:
            kept.remove(max(kept, key=lambda l: (abs(l - focus), l)))
        elif decimals > 2:
            decimals -= 1
            tensors, tokens = _prepare(trace, include_bos, decimals)
        else:
            break  # one layer at 2 decimals: show it anyway rather than nothing
    notes = []
    dropped = sorted(set(wanted) - set(kept))
    if dropped:
        notes.append(f"Layers {dropped} are left out to keep the page under {max_bytes / 1e6:.0f} MB.")
    if decimals < DECIMALS:
        notes.append(f"Attention is rounded to {decimals} decimals to keep the page small.")
    return html, kept, tokens, notes


def head_view_html(trace, layer: int | None = None, *, include_bos: bool = True, dark: bool = True,
                   decimals: int = DECIMALS, max_bytes: int = MAX_BYTES) -> BertvizHTML:
    """bertviz head view of one layer (`layer`), or of as many layers as fit in `max_bytes` if None."""
    from interp.backends import import_locked

    head_view = import_locked("bertviz").head_view  # bertviz imports torch: under the project's import lock

    wanted = _check_layers(trace, [layer] if layer is not None else range(trace.n_layers))

    def render(tensors, tokens, layers):
        return head_view(attention=tensors, tokens=tokens, prettify_tokens=False, include_layers=layers,
                         layer=layer if layer in layers else layers[0], html_action="return").data

    html, kept, tokens, notes = _build(trace, render, wanted, layer, include_bos, decimals, max_bytes,
                                       "bertviz head view", dark)
    height = int(len(tokens) * 22.5 + 30 + 60)  # bertviz: BOXHEIGHT per token + TEXT_TOP, + the dropdown row
    return BertvizHTML(html, tuple(kept), tuple(range(trace.n_heads)), height, tuple(notes))


def model_view_html(trace, layers: Sequence[int] | None = None, heads: Sequence[int] | None = None, *,
                    focus_layer: int | None = None, include_bos: bool = True, dark: bool = True,
                    decimals: int = DECIMALS, max_bytes: int = MAX_BYTES) -> BertvizHTML:
    """bertviz model view (a thumbnail per layer x head); when all layers would not fit in `max_bytes`,
    the layers nearest `focus_layer` are kept."""
    from interp.backends import import_locked

    model_view = import_locked("bertviz").model_view  # bertviz imports torch: under the project's import lock

    wanted = _check_layers(trace, range(trace.n_layers) if layers is None else layers)
    heads = list(range(trace.n_heads)) if heads is None else sorted({int(h) for h in heads})
    if not heads or not all(0 <= h < trace.n_heads for h in heads):
        raise ValueError(f"heads {heads} out of range: the model has {trace.n_heads} heads")

    def render(tensors, tokens, layers):
        return model_view(attention=tensors, tokens=tokens, prettify_tokens=False, include_layers=layers,
                          include_heads=heads, display_mode="dark" if dark else "light",
                          html_action="return").data

    html, kept, tokens, notes = _build(trace, render, wanted, focus_layer, include_bos, decimals, max_bytes,
                                       "bertviz model view", dark)
    # bertviz model_view.js: thumbnails of 7 * 12 / total heads px per token + 10 px, 38 px of axis labels;
    # at least the detail panel drawn on click (18 px per token + heading and padding).
    box = 7 * 12 / trace.n_heads
    height = max(int(len(kept) * (len(tokens) * box + 10) + 38), int(len(tokens) * 18 + 55)) + 30
    return BertvizHTML(html, tuple(kept), tuple(heads), height, tuple(notes))
