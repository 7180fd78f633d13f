"""Find features across every SAE of a model: by label text, by token, or by a phrase's trace (pure Python).

Hits are plain dicts {sae, feature, score, why}; `score` orders them (higher first) and `why` says what it is.
"""
from __future__ import annotations

from interp.dashboards.store import Dashboard

MAX_QUERY = 200


def token_ids(vocab: list[str], text: str) -> list[int]:
    """Vocabulary ids whose text is `text`, or `text` with a leading space ("God" finds ' God' and 'God')."""
    text = text[:MAX_QUERY]
    wanted = {text, " " + text.lstrip()} if text.strip() else set()
    return [i for i, t in enumerate(vocab) if t in wanted]


def by_label(dashboards: dict[str, Dashboard], query: str, limit: int = 30) -> list[dict]:
    """Features whose offline label contains the query (case-insensitive), best agreement first."""
    q = query.strip().lower()[:MAX_QUERY]
    if not q:
        return []
    hits = []
    for sae, d in dashboards.items():
        for f, info in enumerate(d.meta["features"]):
            if q in info["label"].lower():
                hits.append({"sae": sae, "feature": f, "score": info.get("agreement") or 0.0,
                             "why": f"label agreement {info['agreement']}" if info.get("agreement") is not None
                             else "label agreement not measured"})
    return sorted(hits, key=lambda h: -h["score"])[:limit]


def by_token(dashboards: dict[str, Dashboard], token: str, per_sae: int = 5) -> list[dict]:
    """Features most about a token, per SAE (the file's ranking: share of the feature's activation on the
    token x its mean activation there), interleaved: every SAE's first, then every SAE's second, ..."""
    best: dict[tuple[str, int], dict] = {}
    for sae, d in dashboards.items():
        for tid in token_ids(d.vocab, token):
            n = int(d.a["token_count"][tid])
            for rank, (f, mean) in enumerate(d.features_for_token(tid)[:per_sae]):
                hit = {"sae": sae, "feature": f, "score": mean, "rank": rank,
                       "why": f"mean activation {mean:.2f} on {d.vocab[tid]!r} ({n} occurrences)"}
                old = best.get((sae, f))  # ' God' and 'God' may both list it: keep its better rank
                if old is None or (rank, -mean) < (old["rank"], -old["score"]):
                    best[sae, f] = hit
    return sorted(best.values(), key=lambda h: (h["rank"], -h["score"]))


def by_trace(trace, per_sae: int = 5, skip=lambda sae, f: False, max_act=None) -> list[dict]:
    """Features most active anywhere on a traced phrase (BOS excluded), per SAE of the trace.
    skip(sae, f): features to leave out (the pages pass the always-on ones, which top every phrase and say
    nothing). max_act(sae, f): the feature's largest activation on the label text, when known; then features
    are ranked by activation / max_act (how close the phrase comes to what the feature is for), else by
    activation."""
    hits = []
    for sae, acts in trace.saes.items():
        best: dict[int, tuple[float, float, int]] = {}
        for pos in range(1 if trace.n_pos > 1 else 0, trace.n_pos):
            for f, a in zip(acts.top_idx[pos].tolist(), acts.top_act[pos].tolist()):
                if a <= 0 or skip(sae, f):
                    continue
                score = a / max(max_act(sae, f), 1e-6) if max_act else a
                if score > best.get(f, (0.0,))[0]:
                    best[f] = (score, a, pos)
        for f, (score, a, pos) in sorted(best.items(), key=lambda kv: -kv[1][0])[:per_sae]:
            rel = f" ({score:.0%} of its max)" if max_act else ""
            hits.append({"sae": sae, "feature": f, "score": score,
                         "why": f"activation {a:.2f}{rel} on {trace.str_tokens[pos]!r}"})
    return sorted(hits, key=lambda h: -h["score"])


def all_layers(trace, pos: int, k: int = 8) -> dict[str, list[tuple[int, float]]]:
    """{sae: [(feature, activation)]}: the top-k features of every SAE of the trace at one position."""
    return {sae: [(int(f), float(a)) for f, a in zip(acts.top_idx[pos][:k], acts.top_act[pos][:k]) if a > 0]
            for sae, acts in trace.saes.items()}
