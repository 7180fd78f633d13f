"""QK split, value-weighted attention, direct logit attribution and head anatomy: exact against TransformerLens.

Each recomputation starts from the cached Trace (residuals, patterns) and the backend's weights; the ground
truth is TransformerLens's own run_with_cache on the same tokens (hook_attn_scores, hook_v, hook_pattern,
hook_z, hook_mlp_out) and the model's logits, on the real embedded models and SAEs.
"""
import numpy as np
import pytest
import torch

from interp.analysis import dla, head_math, qk
from interp.analysis.anatomy import head_anatomy
from interp.errors import BadInput
from interp.requests import TraceRequest

REPEATED = ("The old man gave the young girl a red apple and a silver coin. "
            "The old man gave the young girl a red apple and a silver coin.")
PROMPTS = {"tiny-induction": REPEATED,
           "tiny-austen-bible": "Elizabeth looked at Mr. Darcy and said that Elizabeth looked at Mr. Darcy"}
TOL = 1e-4


_BACKENDS = {}


def backend_for(name):
    from interp.backends import load_backend

    if name not in _BACKENDS:
        _BACKENDS[name] = load_backend(name)
    return _BACKENDS[name]


@pytest.fixture(scope="module", params=list(PROMPTS))
def case(request):
    name = request.param
    b = backend_for(name)
    tr = b.trace(TraceRequest(name, PROMPTS[name]))
    with torch.no_grad():
        logits, cache = b.model.run_with_cache(torch.as_tensor(np.array(tr.tokens))[None])  # TL's own forward
    return b, tr, logits[0].double(), cache


def test_qk_split_sums_to_the_real_pre_softmax_score(case):
    b, tr, _, cache = case
    n = tr.n_pos
    worst = 0.0
    for layer in range(tr.n_layers):
        real = cache[f"blocks.{layer}.attn.hook_attn_scores"][0].double().numpy()  # [head, q, k]
        for head in range(tr.n_heads):
            for query, key in ((n - 1, 0), (n - 1, n // 2), (n // 2, 3)):
                s = qk.qk_split(b, tr, layer, head, query, key)
                assert abs(s.total - real[head, query, key]) < TOL, (layer, head, query, key)
                assert abs(s.score - real[head, query, key]) < TOL
                assert s.pattern_error < 1e-5  # softmax of the recomputed row = the trace's pattern row
                # every part of each side adds back to the residual the head reads
                for parts, pos in ((s.q_parts, query), (s.k_parts, key)):
                    np.testing.assert_allclose(parts.vectors.sum(0), tr.resid_stack[layer, pos], atol=1e-5)
                worst = max(worst, abs(s.total - real[head, query, key]))
                if layer == 0:
                    assert s.sae is None and s.source.startswith("embeddings")
                else:  # the SAE at resid_post of layer - 1 = resid_pre of layer
                    assert s.sae == f"blocks.{layer - 1}.hook_resid_post" and "= resid_pre of layer" in s.source
    print(f"QK split: worst |sum of parts - TL score| = {worst:.1e}")


def test_qk_split_induction_head_on_a_repeated_sentence():
    """tiny-induction L1H1 from the second ' red' attends to the token after the first ' red' (' app')."""
    b = backend_for("tiny-induction")
    tr = b.trace(TraceRequest("tiny-induction", REPEATED))
    toks = list(tr.str_tokens)
    query = len(toks) - 1 - toks[::-1].index(" red")
    key = toks.index(" red") + 1
    assert toks[key] == " app" and tr.attention[1, 1, query].argmax() == key
    s = qk.qk_split(b, tr, 1, 1, query, key)
    assert abs(s.residual) < TOL
    pairs = s.feature_pairs({}, 3)
    assert len(pairs) == 3 and (pairs["contribution"].abs().diff().dropna() <= 0).all()
    # docs/head_detail.md quotes these: the largest pair is a dense feature with itself, 15 % of the score
    assert (pairs.loc[0, "query part"], pairs.loc[0, "key part"]) == ("feature 385", "feature 385")
    assert abs(pairs.loc[0, "share of score"] - 0.149) < 0.005
    other = qk.qk_split(b, tr, 1, 1, query, key - 1)  # the first ' red' itself: why the head prefers ' app'
    diff = qk.contrast_pairs(s, other)
    assert abs(diff["difference"].sum() - (s.score - other.score)) < TOL and s.score - other.score > 4
    assert 0.5 < s.feature_share < 1.0  # features carry most of this score (0.78 measured), not all of it
    groups = s.groups()
    assert abs(groups.values.sum() - s.score) < TOL and "SAE error" in groups.index and "bias" in groups.columns


def test_qk_split_default_model_example():
    """docs/head_detail.md's default-model example: L3H1 from the last ' Darcy' to the earlier ' Darcy'."""
    from interp.registry import REGISTRY

    b = backend_for("tiny-austen-bible")
    tr = b.trace(TraceRequest("tiny-austen-bible", REGISTRY.get("tiny-austen-bible").default_prompt))
    assert tr.str_tokens[15] == tr.str_tokens[6] == " Darcy" and tr.attention[3, 1, 15, 1:].argmax() + 1 == 6
    s = qk.qk_split(b, tr, 3, 1, 15, 6)
    assert abs(s.score - 2.3359) < 1e-3 and abs(s.feature_share - 1.80) < 0.01
    top = s.feature_pairs({}, 1).iloc[0]
    assert (top["query part"], top["key part"]) == ("feature 600", "feature 427") and abs(top["share of score"] - 0.41) < 0.01
    bos = qk.qk_split(b, tr, 3, 1, 15, 0)
    assert abs((s.score - bos.score) - (-0.892)) < 1e-3


def test_qk_split_refuses_bad_cells(case):
    b, tr, _, _ = case
    for args in ((0, 0, 2, 3), (tr.n_layers, 0, 2, 1), (0, 0, tr.n_pos, 0), (0, 0, 1, -1)):
        with pytest.raises(BadInput):
            qk.qk_split(b, tr, *args)


def test_value_weighted_norms_match_a_direct_computation(case):
    b, tr, _, cache = case
    for layer in range(tr.n_layers):
        w = head_math.HeadWeights.from_backend(b.head_weights(layer))
        mine = head_math.value_weighted_norms(tr.resid_stack[layer], tr.attention[layer], w)
        v = cache[f"blocks.{layer}.attn.hook_v"][0].double()  # [pos, head, d_head]
        pattern = cache[f"blocks.{layer}.attn.hook_pattern"][0].double()  # [head, q, k]
        sent = torch.einsum("phd,hdm->hpm", v, torch.as_tensor(w.W_O))  # [head, k, d_model]
        direct = (pattern[..., None] * sent[:, None]).norm(dim=-1).numpy()  # ||a_ij v_j W_O||
        np.testing.assert_allclose(mine, direct, atol=1e-4, rtol=1e-5)
        assert np.all(mine[:, np.triu_indices(tr.n_pos, 1)[0], np.triu_indices(tr.n_pos, 1)[1]] == 0)


def test_direct_logit_attribution_sums_to_the_real_logit(case):
    b, tr, logits, cache = case
    for pos in (tr.n_pos - 1, 3):
        for token in (int(logits[pos].argmax()), int(tr.tokens[min(pos + 1, tr.n_pos - 1)])):
            att = dla.logit_attribution(b, tr, pos, token)
            assert abs(att.values.sum() - float(logits[pos, token])) < TOL, (pos, token)
            assert abs(att.logit - float(logits[pos, token])) < TOL
            assert "rest" not in att.kinds
        frame = att.frame()
        for layer in range(tr.n_layers):  # the components themselves, not only their sum
            w = b.head_weights(layer)
            z = cache[f"blocks.{layer}.attn.hook_z"][0, pos].double()  # [head, d_head]
            heads = torch.einsum("hd,hdm->hm", z, torch.as_tensor(w["W_O"])).numpy()
            mine = head_math.head_outputs(tr.resid_stack[layer], tr.attention[layer],
                                          head_math.HeadWeights.from_backend(w), pos)
            np.testing.assert_allclose(mine, heads, atol=1e-4)
            mlp = frame[frame["component"] == f"L{layer} MLP"]
            assert len(mlp) == 1
        choices = dla.token_choices(b, tr, pos)
        assert choices[0][0] == int(logits[pos].argmax()) and abs(choices[0][2] - float(logits[pos].max())) < TOL


def test_head_anatomy_steps_match_transformer_lens(case):
    b, tr, _, cache = case
    layer, head, query = tr.n_layers - 1, tr.n_heads - 1, tr.n_pos - 2
    w = head_math.HeadWeights.from_backend(b.head_weights(layer))
    an = head_anatomy(tr.resid_stack[layer], tr.attention[layer, head, query], w, layer, head, query, tr.str_tokens)
    q = cache[f"blocks.{layer}.attn.hook_q"][0, query, head].double().numpy()
    np.testing.assert_allclose(an.q, q, atol=1e-4)
    scores = cache[f"blocks.{layer}.attn.hook_attn_scores"][0, head, query].double().numpy()
    np.testing.assert_allclose(an.steps["÷ √d_head"][: query + 1], scores[: query + 1], atol=1e-4)
    assert (an.steps["masked"][query + 1:] != "").all() and (an.steps["softmax"][query + 1:] == 0).all()
    z = cache[f"blocks.{layer}.attn.hook_z"][0, query, head].double().numpy()
    np.testing.assert_allclose(an.z, z, atol=1e-4)
    assert an.pattern_error < 1e-5
