"""Steering on the real embedded model: generated tokens are steered too, clamp/ablate, KL, SAE tools."""
import numpy as np
import pytest

from interp import sae_tools
from interp.generation import generate, per_token_kl
from interp.requests import FeatureSteer, GenerateRequest
from tests.conftest import build_request

SAE = "blocks.2.hook_resid_post"


def steer(feature=5, alpha=20.0, **kw):
    return build_request(prompt="She walked into the room and", saes=(SAE,), steering=(FeatureSteer(SAE, feature, alpha, **kw),))


def test_same_seed_reproduces_and_alpha_zero_is_identity(backend):
    base = generate(backend, GenerateRequest(build_request(prompt="She walked into the room and", saes=(SAE,)), 20))
    again = generate(backend, GenerateRequest(build_request(prompt="She walked into the room and", saes=(SAE,)), 20))
    zero = generate(backend, GenerateRequest(steer(alpha=0.0), 20))
    assert base == again == zero


def test_generated_tokens_are_steered_not_only_the_prompt(backend):
    """Steer only from the first generated position on: the prompt pass is untouched, so the first
    sampled token's distribution is the base one; any later difference comes from decode steps (length 1)."""
    base_req = build_request(prompt="She walked into the room and", saes=(SAE,))
    n_prompt = backend.trace(base_req).n_pos
    late = steer(alpha=60.0, start=n_prompt)
    assert np.array_equal(backend.trace(late).next_token_logprobs, backend.trace(base_req).next_token_logprobs)
    g_base = generate(backend, GenerateRequest(base_req, 25, temperature=0.0))
    g_late = generate(backend, GenerateRequest(late, 25, temperature=0.0))
    assert g_base.tokens[n_prompt] == g_late.tokens[n_prompt]  # first new token: same distribution, greedy
    assert g_base.tokens != g_late.tokens  # later tokens changed: decode steps were steered


def test_prompt_only_steering_stops_at_the_prompt(backend):
    n_prompt = backend.trace(build_request(prompt="She walked into the room and", saes=(SAE,))).n_pos
    req = steer(alpha=60.0, end=n_prompt)
    g = generate(backend, GenerateRequest(req, 10, temperature=0.0))
    kl = per_token_kl(backend, g.tokens, req.active_steering, g.prompt_tokens)
    # KL at the first new position reflects the steered prompt; the generated positions themselves are not steered
    assert kl[0] > 0
    assert len(kl) == len(g.tokens) - g.prompt_tokens


def test_per_token_kl_is_zero_without_steering(backend):
    g = generate(backend, GenerateRequest(build_request(prompt="In the beginning", saes=(SAE,)), 8))
    kl = per_token_kl(backend, g.tokens, (), g.prompt_tokens)
    np.testing.assert_allclose(kl, 0.0, atol=1e-6)


def test_clamp_sets_the_feature_and_keeps_the_error_term(backend):
    """Clamping a feature to its own current value changes nothing (the error term is kept)."""
    req = build_request(prompt="She walked into the room and", saes=(SAE,), top_k=1)
    t = backend.trace(req)
    acts = t.saes[SAE]
    pos = int(np.argmax(acts.top_act[1:, 0])) + 1
    f, a = int(acts.top_idx[pos, 0]), float(acts.top_act[pos, 0])
    same = backend.trace(build_request(prompt=req.prompt, saes=(SAE,), steering=(FeatureSteer(SAE, f, a, "clamp", pos, pos + 1),)))
    np.testing.assert_allclose(same.next_token_logprobs, t.next_token_logprobs, atol=1e-4)
    up = backend.trace(build_request(prompt=req.prompt, saes=(SAE,), steering=(FeatureSteer(SAE, f, 10 * a + 5, "clamp"),)))
    assert np.abs(up.next_token_logprobs - t.next_token_logprobs).max() > 1e-3


def test_feature_tools(backend):
    t = backend.trace(build_request(saes=(SAE,)))
    acts = t.saes[SAE]
    f = int(acts.top_idx[1, 0])
    per_pos = sae_tools.feature_activations(backend, SAE, acts.inputs, f)
    assert per_pos[1] == pytest.approx(acts.top_act[1, 0], abs=1e-5)
    eff = sae_tools.feature_logit_effects(backend, SAE, f, k=5)
    assert len(eff["promoted"]) == 5 and eff["promoted"][0][1] >= eff["promoted"][-1][1]
    m = sae_tools.splice_metrics(backend, build_request(saes=(SAE,)), SAE)
    assert m["ce_with_error_term"] == pytest.approx(m["ce_clean"], abs=1e-4)
    assert m["ce_spliced"] != pytest.approx(m["ce_clean"], abs=1e-6)
    assert sae_tools.mismatch_warnings(backend, SAE, t.n_pos) == []
