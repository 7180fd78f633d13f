"""Shared helpers for chart builders: unique, readable token labels."""
from __future__ import annotations

import re
import unicodedata

# A byte-level BPE token can be part of one UTF-8 character: decoded on its own it is U+FFFD "�".
_BYTE_PIECE = re.compile("\ufffd+")


def readable(tok: str) -> str:
    """A token's text for display: a byte piece (part of a character) as ⟨byte⟩, invisible and control
    characters as escapes (a font draws them as "▯" or not at all)."""
    tok = _BYTE_PIECE.sub("⟨byte⟩", tok)
    return "".join(c if c in "\n\t" or unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")
                   else f"\\u{ord(c):04x}" for c in tok)


def token_label(pos: int, tok: str) -> str:
    """'3: Darcy' - positions keep repeated tokens apart on an axis; whitespace made visible."""
    shown = readable(tok).replace("\n", "\\n").replace("\t", "\\t")
    if shown.startswith(" "):
        shown = "␣" + shown[1:]
    return f"{pos}:{shown}"


def token_labels(str_tokens) -> list[str]:
    return [token_label(i, t) for i, t in enumerate(str_tokens)]
