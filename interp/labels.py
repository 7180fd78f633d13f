"""Offline feature labels (labels.json beside an embedded SAE): an optional asset, read defensively.

A missing, unreadable, corrupt or oddly shaped file degrades to "no labels" plus one sentence; entries that
are malformed are dropped and counted. Nothing here raises.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

MAX_BYTES = 50_000_000


def _entry_ok(key, entry) -> bool:
    if not (isinstance(key, str) and key.isdigit() and isinstance(entry, dict)):
        return False
    number = lambda x: isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)  # noqa: E731
    contexts = entry.get("contexts", [])
    return (isinstance(entry.get("label"), str) and number(entry.get("max_act")) and number(entry.get("freq"))
            and isinstance(contexts, list) and all(isinstance(c, dict) for c in contexts))


def load_labels(path: Path | None) -> tuple[dict, str | None]:
    """({feature as str: {label, max_act, freq, contexts}}, None) or ({...partial or empty}, a sentence)."""
    if path is None:
        return {}, None  # hub SAEs have no offline labels; nothing to say
    if not path.exists():
        return {}, f"No feature labels for this SAE ({path.name} is missing): features are shown by number only."
    try:
        if path.stat().st_size > MAX_BYTES:
            return {}, f"The labels file {path.name} is too large to read; features are shown by number only."
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as e:
        return {}, (f"The labels file {path.name} could not be read ({type(e).__name__}); "
                    "features are shown by number only.")
    if not isinstance(raw, dict):
        return {}, f"The labels file {path.name} is not a table of labels; features are shown by number only."
    good = {k: v for k, v in raw.items() if _entry_ok(k, v)}
    dropped = len(raw) - len(good)
    if dropped:
        return good, f"{dropped:,} of {len(raw):,} entries in {path.name} are malformed and were skipped."
    return good, None
