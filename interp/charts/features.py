"""Feature dashboard drawings: activation histogram, and contexts as escaped text with highlighted tokens."""
from __future__ import annotations

import html

import altair as alt
import numpy as np
import pandas as pd


def histogram_chart(lower: np.ndarray, counts: np.ndarray, feature: int, density: float) -> alt.Chart:
    width = float(lower[1] - lower[0]) if len(lower) > 1 else 1.0
    df = pd.DataFrame({"from": lower, "to": lower + width, "count": counts})
    return alt.Chart(df).mark_bar(color="#e6550d").encode(
        x=alt.X("from:Q", bin="binned", title="activation (non-zero only)"), x2="to:Q",
        y=alt.Y("count:Q", title="tokens"),
        tooltip=[alt.Tooltip("from:Q", format=".2f"), alt.Tooltip("to:Q", format=".2f"), "count:Q"],
    ).properties(title=f"feature {feature}: fires on {100 * density:.2f} % of label-text tokens", height=160)


def _shown(tok: str) -> str:
    return html.escape(tok.replace("\n", "↵").replace("\t", "⇥"), quote=True)


def highlighted(tokens, acts, max_act: float, center: int | None = None) -> str:
    """One line of tokens as HTML: every token's text escaped, its background shaded by its activation
    (relative to max_act), the picked token underlined. The only markup is ours; no text from data is markup."""
    top = max(float(max_act), 1e-9)
    spans = []
    for i, (tok, a) in enumerate(zip(tokens, acts)):
        alpha = min(max(float(a) / top, 0.0), 1.0)
        style = f"background: rgba(230, 85, 13, {alpha:.2f});"
        if i == center:
            style += " border-bottom: 2px solid #333;"
        spans.append(f'<span title="{float(a):.3f}" style="{style}">{_shown(tok)}</span>')
    return "".join(spans)


def contexts_html(rows: list[tuple[float, str]]) -> str:
    """rows: (activation at the picked token, highlighted line) -> a compact monospace block."""
    lines = [f'<div style="white-space: pre; font-family: monospace; font-size: 0.85em; line-height: 1.6;">'
             f'<span style="color:#888">{a:6.2f} </span>{line}</div>' for a, line in rows]
    return "".join(lines)
