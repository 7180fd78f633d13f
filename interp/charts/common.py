"""Shared helpers for chart builders: unique, readable token labels."""
from __future__ import annotations


def token_label(pos: int, tok: str) -> str:
    """'3: Darcy' - positions keep repeated tokens apart on an axis; whitespace made visible."""
    shown = tok.replace("\n", "\\n").replace("\t", "\\t")
    if shown.startswith(" "):
        shown = "␣" + shown[1:]
    return f"{pos}:{shown}"


def token_labels(str_tokens) -> list[str]:
    return [token_label(i, t) for i, t in enumerate(str_tokens)]
