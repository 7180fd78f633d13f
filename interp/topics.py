"""Topic words for steering claims (pure Python): count how often a continuation uses a topic's words."""
from __future__ import annotations

import re

# Words that mark the King James / World English Bible half of the embedded model's corpus, and are rare in
# the Austen half (base rate 0.05-0.35 per 30-token continuation of an Austen sentence).
SCRIPTURE = re.compile(r"\b(God|LORD|Lord|Yahweh|thee|thou|thy|Israel|unto|hath|shalt|Jesus|saith|ye|Christ|"
                       r"Moses|David|Jerusalem|behold|Behold|spirit|Spirit)\b")


def topic_count(text: str, words: re.Pattern = SCRIPTURE) -> int:
    return len(words.findall(text))
