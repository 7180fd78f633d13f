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
    """Features with the highest mean activation on a token (from the label text), per SAE."""
    hits = []
    for sae, d in dashboards.items():
        for tid in token_ids(d.vocab, token):
            n = int(d.a["token_count"][tid])
            for f, mean in d.features_for_token(tid)[:per_sae]:
                hits.append({"sae": sae, "feature": f, "score": mean,
                             "why": f"mean activation {mean:.2f} on {d.vocab[tid]!r} ({n} occurrences)"})
    return sorted(hits, key=lambda h: -h["score"])


def by_trace(trace, per_sae: int = 5) -> list[dict]:
    """Features most active anywhere on a traced phrase (BOS excluded), per SAE of the trace."""
    hits = []
    for sae, acts in trace.saes.items():
        best: dict[int, tuple[float, int]] = {}
        for pos in range(1 if trace.n_pos > 1 else 0, trace.n_pos):
            for f, a in zip(acts.top_idx[pos].tolist(), acts.top_act[pos].tolist()):
                if a > 0 and a > best.get(f, (0.0, 0))[0]:
                    best[f] = (a, pos)
        for f, (a, pos) in sorted(best.items(), key=lambda kv: -kv[1][0])[:per_sae]:
            hits.append({"sae": sae, "feature": f, "score": a,
                         "why": f"activation {a:.2f} on {trace.str_tokens[pos]!r}"})
    return sorted(hits, key=lambda h: -h["score"])


def all_layers(trace, pos: int, k: int = 8) -> dict[str, list[tuple[int, float]]]:
    """{sae: [(feature, activation)]}: the top-k features of every SAE of the trace at one position."""
    return {sae: [(int(f), float(a)) for f, a in zip(acts.top_idx[pos][:k], acts.top_act[pos][:k]) if a > 0]
            for sae, acts in trace.saes.items()}
