"""Offline feature dashboards (python -m interp dashboards): a file per embedded SAE, checked against a direct
recomputation with the real model and SAEs; label rules and agreement; search across every SAE."""
import gzip
import json

import numpy as np
import pytest
import torch

from interp.charts.features import highlighted
from interp.dashboards import labels, search
from interp.dashboards.store import FILE, Dashboard
from interp.registry import ASSETS, REGISTRY
from tests.conftest import build_request

EMBEDDED = [(m.name, s) for m in REGISTRY.models.values() if m.embedded for s in m.saes]
MB = 2**20
EXPECTED_GOD = ("blocks.1.hook_resid_post", 380)  # label "' God' / ' Lord'", agreement 0.84 on held-out text


@pytest.fixture(scope="module")
def dashboards():
    return {(m, s.id): Dashboard.load(s.path / FILE) for m, s in EMBEDDED}


def test_every_embedded_sae_has_a_small_dashboard_file(dashboards):
    assert len(EMBEDDED) == 6
    for model, s in EMBEDDED:
        d = dashboards[model, s.id]
        cfg = json.loads((s.path / "cfg.json").read_text())
        assert (s.path / FILE).stat().st_size <= 5 * MB
        assert d.d_sae == cfg["d_sae"] == len(d.meta["features"])
        assert d.meta["sae"] == s.id and len(d.vocab) == 4096
        assert d.meta["heldout_tokens"] > 100_000 and d.meta["label_tokens"] > 150_000
        # every live feature has its contexts; the histogram counts every non-zero activation
        live = d.a["max_act"] > 0
        assert live.mean() > 0.8
        counts = d.a["hist"].sum(1)
        np.testing.assert_allclose(counts, d.a["density"] * d.meta["label_tokens"], rtol=1e-4, atol=0.5)
    total = sum(p.stat().st_size for p in ASSETS.rglob("*") if p.is_file())
    assert total <= 25 * MB, f"assets are {total / MB:.1f} MB"


@pytest.mark.parametrize("sae_id", ["blocks.1.hook_resid_post", "blocks.2.hook_resid_post"])
def test_dashboard_matches_a_direct_recomputation(backend, dashboards, sae_id):
    """Rerun the model on the stored window of each checked feature's strongest context: the feature's
    activation there is the stored maximum, and the stored per-token activations are the recomputed ones.
    Logits, similar and lineage features are recomputed from the weights."""
    d = dashboards[backend.spec.name, sae_id]
    sae = backend.sae(sae_id)
    hook = sae.cfg.metadata.hook_name
    live = np.nonzero(d.a["max_act"] > 0)[0]
    nxt = backend.sae(d.meta["next_sae"])
    nxt_live = dashboards[backend.spec.name, d.meta["next_sae"]].a["max_act"] > 0
    for f in live[[0, len(live) // 2, -1]]:
        row, col = d.a["top_row"][f].astype(np.int64), int(d.a["top_col"][f])
        _, cache = backend.run(torch.from_numpy(row)[None], record=frozenset({hook}))
        with torch.no_grad():
            acts = sae.encode(cache[hook][0])[:, f].numpy()  # [ctx]
        assert acts[col] == pytest.approx(float(d.a["max_act"][f]), rel=1e-3)
        top = d.contexts(f)[0]
        lo = col - top.center
        assert top.tokens == backend.str_tokens(row[lo:lo + len(top.tokens)])
        np.testing.assert_allclose(top.acts, acts[lo:lo + len(top.tokens)], rtol=2e-3, atol=2e-3)
        tops = [c.act for c in d.contexts(f) if c.kind == "top"]
        assert tops == sorted(tops, reverse=True) and max(c.act for c in d.contexts(f)) <= d.a["max_act"][f] * 1.001
        with torch.no_grad():
            eff = (sae.W_dec[f] @ backend.model.W_U).numpy()
            w = sae.W_dec / sae.W_dec.norm(dim=-1, keepdim=True)
            cos = (w @ w[f]).numpy()
            cos_next = ((nxt.W_dec / nxt.W_dec.norm(dim=-1, keepdim=True)) @ w[f]).numpy()
        assert [t for t, _ in d.logit_table(f)["promoted"]] == list(backend.str_tokens(np.argsort(-eff)[:10]))
        np.testing.assert_allclose([v for _, v in d.logit_table(f)["suppressed"]], np.sort(eff)[:10], rtol=1e-4)
        cos[f], cos[~(d.a["max_act"] > 0)] = -np.inf, -np.inf
        assert [g for g, _ in d.similar(f)] == list(np.argsort(-cos)[:5])
        dec_next = [m for m in d.lineage(f) if m["side"] == "next" and m["how"] == "decoder cosine"][0]
        cos_next[~nxt_live] = -np.inf
        assert dec_next["feature"] == int(np.argmax(cos_next))
        assert dec_next["score"] == pytest.approx(float(cos_next.max()), rel=1e-4)


def test_label_rule_and_agreement_on_a_hand_made_text():
    """A feature firing on token 7 except after token 3. 'token 7' alone has F1 8/9 (5 predicted, 4 fire);
    the previous-token set grown greedily is {4, 2, 9, 0} (F1 0.8 alone), and both together are exact."""
    windows = np.array([[0, 7, 1, 3, 7, 2, 7, 5], [0, 4, 7, 9, 9, 7, 1, 2]])
    text = labels.Text(windows, vocab=10)
    fire = np.flatnonzero((windows.reshape(-1) == 7) & (text.prev != 3))  # flat positions 1, 6, 10, 13
    rule, f1_a = labels.derive_rule(text, fire)
    assert rule == {"cur": [7], "prev": [4, 2, 9, 0]} and f1_a == 1.0
    only_7 = labels.agreement(text, {"cur": [7]}, fire)
    assert (only_7["precision"], only_7["recall"], only_7["agreement"]) == (0.8, 1.0, round(8 / 9, 3))
    held_out = labels.Text(np.array([[0, 5, 7, 7, 3, 7, 1, 1]]), vocab=10)
    assert labels.agreement(held_out, rule, np.array([2, 3]))["agreement"] is None  # 2 firings: too few


def test_failing_labels_are_marked_not_hidden(dashboards):
    for (model, sae), d in dashboards.items():
        feats = d.meta["features"]
        measured = [f for f in feats if f["agreement"] is not None]
        assert len(measured) > 0.5 * len(feats)
        assert any(f["holds"] is False for f in measured) and any(f["holds"] for f in measured)
        assert all(f["holds"] == (f["agreement"] >= labels.HOLDS_AT) for f in measured)
        assert d.meta["summary"]["measured"] == len(measured)


def test_contexts_are_escaped_text():
    out = highlighted(["<script>", " & ", "\n"], [0.0, 1.0, 2.0], 2.0, center=2)
    assert "<script>" not in out and "&lt;script&gt;" in out and "&amp;" in out and "↵" in out


def test_search_finds_the_god_feature_by_token_and_label(backend, dashboards):
    """' God': token search puts L1 #380 (label "' God' / ' Lord'") first, label search finds it, and the model
    agrees on new sentences: #380 passes its firing threshold at ' God' and at no other token."""
    ds = {sid: d for (m, sid), d in dashboards.items() if m == backend.spec.name}
    sae, f = EXPECTED_GOD
    hits = search.by_token(ds, "God")
    assert (hits[0]["sae"], hits[0]["feature"]) == EXPECTED_GOD
    assert "' God'" in ds[sae].label(f)["label"]
    assert any((h["sae"], h["feature"]) == EXPECTED_GOD for h in search.by_label(ds, "' God'"))
    threshold = ds[sae].label(f)["threshold"]
    for prompt in ("And the people praised God in the temple.", "I thank God that you came."):
        trace = backend.trace(build_request(prompt=prompt, top_k=16))
        pos = trace.str_tokens.index(" God")
        acts = dict(search.all_layers(trace, pos, k=16)[sae])
        assert acts.get(f, 0.0) > threshold
        for p in range(1, trace.n_pos):
            if p != pos:
                assert dict(search.all_layers(trace, p, k=16)[sae]).get(f, 0.0) < threshold
        always_on = lambda s, g: ds[s].density(g) > 0.5  # noqa: E731
        phrase = search.by_trace(trace, skip=always_on, max_act=lambda s, g: float(ds[s].a["max_act"][g]))
        assert phrase and not any(always_on(h["sae"], h["feature"]) for h in phrase)
        assert any(always_on(h["sae"], h["feature"]) for h in search.by_trace(trace))  # they would be there


@pytest.mark.parametrize("blob", [b"not gzip", gzip.compress(b"\x08\x00\x00\x00\x00\x00\x00\x00{}")])
def test_a_corrupt_dashboard_file_degrades_to_none_with_a_sentence(tmp_path, blob):
    path = tmp_path / FILE
    path.write_bytes(blob)
    dash, message = Dashboard.load_optional(path)
    assert dash is None and FILE in message
    assert Dashboard.load_optional(tmp_path / "missing") == (None, None)
