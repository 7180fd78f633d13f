"""Print the QK-split examples quoted in docs/head_detail.md (offline, embedded models, ~20 s).

    HF_HUB_OFFLINE=1 python scripts/qk_examples.py
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from interp.analysis import qk  # noqa: E402
from interp.analysis.heads import head_scores  # noqa: E402
from interp.backends import load_backend  # noqa: E402
from interp.registry import REGISTRY  # noqa: E402
from interp.requests import TraceRequest  # noqa: E402


def labels_for(spec, layer):
    s = qk.sae_for_layer(spec, layer)
    return json.loads(s.labels_path.read_text()) if s and s.labels_path and s.labels_path.exists() else {}


def show(b, tr, layer, head, query, key, other=None):
    t = tr.str_tokens
    s = qk.qk_split(b, tr, layer, head, query, key)
    labels = labels_for(b.spec, layer)
    print(f"\n## {tr.model} L{layer}H{head}: query {query} {t[query]!r} -> key {key} {t[key]!r} "
          f"(attention {tr.attention[layer, head, query, key]:.3f})")
    print(f"parts from: {s.source}")
    print(f"score {s.score:.4f}; sum of parts {s.total:.4f} (residual {s.residual:+.1e}); softmax row vs trace "
          f"{s.pattern_error:.1e}; feature x feature {s.feature_total:+.4f} = {s.feature_share:.0%} of the score; "
          f"key-independent b_K column {s.key_independent:+.4f}")
    print(s.groups().round(3).to_string())
    pairs = s.feature_pairs(labels, 3) if s.sae else s.pairs().head(3)
    print(pairs.drop(columns=["query group", "key group"]).round(4).to_string())
    if other is not None:
        o = qk.qk_split(b, tr, layer, head, query, other)
        d = qk.contrast_pairs(s, o, labels)
        ff = d[(d["query group"] == "features") & (d["key group"] == "features")]["difference"].sum()
        print(f"contrast with key {other} {t[other]!r} (attention {tr.attention[layer, head, query, other]:.3f}): "
              f"difference {s.score - o.score:+.4f}, feature x feature {ff:+.4f}")
        print(d.head(3).drop(columns=["query group", "key group"]).round(4).to_string())


def main():
    b = load_backend("tiny-induction")
    tr = b.trace(TraceRequest("tiny-induction", REGISTRY.get("tiny-induction").default_prompt))
    t = list(tr.str_tokens)
    q = len(t) - 1 - t[::-1].index(" red")
    show(b, tr, 1, 1, q, int(tr.attention[1, 1, q].argmax()), other=t.index(" red"))

    b = load_backend("tiny-austen-bible")
    tr = b.trace(TraceRequest("tiny-austen-bible", REGISTRY.get("tiny-austen-bible").default_prompt))
    ind = head_scores(tr.attention, tr.tokens)["induction"]
    ind[0] = -1  # layer 0 has no SAE at its input: pick a head that reads features
    layer, head = divmod(int(ind.argmax()), tr.n_heads)
    q = tr.n_pos - 1
    show(b, tr, layer, head, q, 1 + int(tr.attention[layer, head, q, 1:].argmax()), other=0)  # the top non-BOS key


if __name__ == "__main__":
    main()
