"""Offline feature labels as token rules, and how well each rule holds on held-out text (pure numpy).

A feature "fires" at a token when its activation is at least FIRE_SHARE of its largest activation on the
label text. A label is a rule over the current token and the one before it:
  cur:   the token is in S                ("' God' / ' Lord'")
  prev:  the previous token is in P       ("after ' shall'")
  both:  token in S and previous in P     ("' be' after ' shall'")
Each rule set is grown greedily (at most MAX_SET tokens) to maximise F1 against firing on the label text;
the rule with the best F1 there is the label. Agreement = the same rule's F1 on held-out text, with the
same firing threshold. A label holds when agreement >= HOLDS_AT; with fewer than MIN_EVENTS firings or
predictions on the held-out text the agreement is left unmeasured (None).
"""
from __future__ import annotations

from collections import Counter

import numpy as np

FIRE_SHARE = 0.25
MAX_SET = 5
HOLDS_AT = 0.5
MIN_EVENTS = 5
MIN_GAIN = 0.02


def f1(tp: float, predicted: float, actual: float) -> float:
    return 2.0 * tp / (predicted + actual) if predicted + actual else 0.0


def greedy_set(fire_counts: np.ndarray, totals: np.ndarray, n_fire: int, max_size: int = MAX_SET):
    """Token set maximising F1, grown one token at a time. fire_counts[v]: firings on token v; totals[v]:
    occurrences of v. Returns (ids, f1)."""
    cand = np.argsort(-fire_counts)[:12]
    cand = [int(v) for v in cand if fire_counts[v] > 0]
    chosen, tp, pred, best = [], 0.0, 0.0, 0.0
    while len(chosen) < max_size:
        scores = [(f1(tp + fire_counts[v], pred + totals[v], n_fire), v) for v in cand if v not in chosen]
        if not scores:
            break
        score, v = max(scores)
        if score < best + MIN_GAIN:  # a token that barely helps only makes the label longer
            break
        chosen.append(v)
        tp, pred, best = tp + fire_counts[v], pred + totals[v], score
    return chosen, best


class Text:
    """Flat token view of windows [n, ctx]: current and previous token per position; BOS columns excluded."""

    def __init__(self, windows: np.ndarray, vocab: int):
        n, ctx = windows.shape
        self.cur = windows.reshape(-1).astype(np.int64)
        prev = np.full_like(windows, -1)
        prev[:, 1:] = windows[:, :-1]
        self.prev = prev.reshape(-1).astype(np.int64)
        self.body = np.tile(np.arange(ctx) > 0, n)
        self.vocab = vocab
        self.cur_totals = np.bincount(self.cur[self.body], minlength=vocab)
        self.prev_totals = np.bincount(self.prev[self.body] % vocab, minlength=vocab)  # -1 never occurs in body

    def rule_mask(self, rule: dict) -> np.ndarray:
        mask = self.body.copy()
        if rule.get("cur"):
            mask &= np.isin(self.cur, rule["cur"])
        if rule.get("prev"):
            mask &= np.isin(self.prev, rule["prev"])
        return mask


def derive_rule(text: Text, fire_pos: np.ndarray) -> tuple[dict, float]:
    """Best rule (by F1 on this text) for a feature firing at flat positions fire_pos."""
    n_fire = len(fire_pos)
    if n_fire == 0:
        return {}, 0.0
    v = text.vocab
    cur_fire = np.bincount(text.cur[fire_pos], minlength=v)
    prev_fire = np.bincount(text.prev[fire_pos] % v, minlength=v)
    s, f_cur = greedy_set(cur_fire, text.cur_totals, n_fire)
    p, f_prev = greedy_set(prev_fire, text.prev_totals, n_fire)
    options = [({"cur": s}, f_cur, f_cur), ({"prev": p}, f_prev, f_prev)]
    if s and p:
        both = {"cur": s, "prev": p}
        pred = text.rule_mask(both)
        f_both = f1(int(pred[fire_pos].sum()), int(pred.sum()), n_fire)
        options.append((both, f_both, f_both - 0.05))  # a two-part rule must beat a one-part rule clearly
    rule, score, _ = max(options, key=lambda o: o[2])
    return rule, score


def agreement(text: Text, rule: dict, fire_pos: np.ndarray) -> dict:
    """F1, precision and recall of a rule against firing on (held-out) text."""
    pred = text.rule_mask(rule) if rule else np.zeros_like(text.body)
    n_pred, n_fire = int(pred.sum()), len(fire_pos)
    tp = int(pred[fire_pos].sum()) if n_fire else 0
    out = {"n_fire": n_fire, "n_pred": n_pred,
           "precision": round(tp / n_pred, 3) if n_pred else None,
           "recall": round(tp / n_fire, 3) if n_fire else None}
    out["agreement"] = round(f1(tp, n_pred, n_fire), 3) if max(n_pred, n_fire) >= MIN_EVENTS else None
    return out


def _tok(decode, i: int) -> str:
    return repr(decode(int(i)))


def word_piece(text: Text, fire_pos: np.ndarray, decode, ctx: int) -> str | None:
    """The whole word a feature fires inside, when most of its top firings are word-pieces (no leading space)."""
    words = []
    for p in fire_pos[:50]:
        piece = decode(int(text.cur[p]))
        if not piece[:1].isalpha():
            continue
        start = p
        while start % ctx > 1 and not decode(int(text.cur[start]))[:1].isspace() and p - start < 4:
            start -= 1
        end = p + 1
        while end % ctx and end - p < 4 and decode(int(text.cur[end]))[:1].isalpha():
            end += 1
        if start == p and end == p + 1:
            continue  # a whole word
        words.append("".join(decode(int(t)) for t in text.cur[start:end]).strip())
    if len(words) < max(3, len(fire_pos[:50]) // 2):
        return None
    return Counter(words).most_common(1)[0][0]


def describe(rule: dict, score: float, text: Text, fire_pos: np.ndarray, decode, ctx: int) -> str:
    """A short description: the rule in words, plus the whole word / the usual next token when telling."""
    if not any(rule.values()):
        return "too rare on the label text to describe"
    cur = " / ".join(_tok(decode, t) for t in rule.get("cur", []))
    prev = " / ".join(_tok(decode, t) for t in rule.get("prev", []))
    text_ = f"{cur} after {prev}" if cur and prev else (cur or f"after {prev}")
    if score < 0.2:
        text_ = f"diffuse (best rule: {text_})"
    word = word_piece(text, fire_pos, decode, ctx)
    if word:
        text_ = f"word-piece of {word!r}: {text_}"
    nxt = fire_pos + 1
    nxt = nxt[(nxt % ctx) != 0]
    if len(nxt) >= MIN_EVENTS:
        tok, n = Counter(text.cur[nxt].tolist()).most_common(1)[0]
        if n >= 0.4 * len(nxt):
            text_ += f" · often before {_tok(decode, tok)}"
    return text_
