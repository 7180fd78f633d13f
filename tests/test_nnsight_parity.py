"""NNsightBackend (local, plain HF model through nnsight) and TransformerLensBackend give the same Trace on both
embedded models, within 1e-5.

Tolerances: probabilities and attention weights within 1e-5 absolute; norms, log-probs and SAE activations
within 1e-5 relative (+1e-5 absolute), the SAE's input vectors within 1e-5 of their largest entry: the two run different float32 kernels (TL folds the LayerNorm weights
into the next matrices), so values of size 50 differ by ~3e-5 absolutely, ~5e-7 relatively.
TL's processing difference is stated and tested, not hidden: with center_writing_weights TL's residual stream
is HF's minus its mean over d_model; the nnsight backend shows the centred view (NNsightBackend._view), and
without it the residual norms differ while attention and next-token log-probs do not.
"""
from __future__ import annotations

import numpy as np
import pytest

from interp.registry import REGISTRY
from interp.requests import FeatureSteer, GenerateRequest, TraceRequest

MODELS = ("tiny-austen-bible", "tiny-induction")
ABS, REL = 1e-5, 1e-5


@pytest.fixture(scope="module", params=MODELS)
def pair(request, backend):
    from interp.backends import load_backend

    tl = backend if request.param == backend.spec.name else load_backend(request.param)
    return tl, load_backend(request.param, kind="nnsight")


def _request(spec, steering=()):
    return TraceRequest(spec.name, spec.default_prompt, tuple(s.id for s in spec.saes), steering)


def _close(a, b, what):
    np.testing.assert_allclose(b, a, rtol=REL, atol=ABS, err_msg=what)


def _same_trace(a, b):
    assert a.str_tokens == b.str_tokens and np.array_equal(a.tokens, b.tokens)
    np.testing.assert_allclose(b.attention, a.attention, rtol=0, atol=ABS)
    for f in ("resid_pre_norm", "resid_mid_norm", "resid_post_norm", "attn_out_norm", "mlp_out_norm", "resid_cosine",
              "next_token_logprobs"):
        _close(getattr(a, f), getattr(b, f), f)
    np.testing.assert_allclose(np.exp(b.next_token_logprobs), np.exp(a.next_token_logprobs), rtol=0, atol=ABS)
    assert a.saes.keys() == b.saes.keys()
    for sid, x in a.saes.items():
        y = b.saes[sid]
        _close(x.top_act, y.top_act, sid)
        # entries of the residual itself (~1e-1 beside ~5): within 1e-5 of the largest entry
        assert np.abs(x.inputs - y.inputs).max() <= ABS * np.abs(x.inputs).max(), sid
        assert np.array_equal(x.l0, y.l0), sid
        active = x.top_act > 1e-3  # the order of latents that are (near) zero is arbitrary
        assert np.array_equal(x.top_idx[active], y.top_idx[active]), sid


def test_unsteered_trace_is_the_same(pair):
    tl, nn = pair
    assert nn.info.backend == "nnsight"
    keep = ("n_layers", "n_heads", "d_model", "d_vocab", "n_ctx", "bos_token_id")
    assert [getattr(nn.info, k) for k in keep] == [getattr(tl.info, k) for k in keep]
    # HF ties the unembedding to the embedding; TL holds W_U (and b_U) as its own processed copy
    assert tl.info.n_params - nn.info.n_params >= tl.info.d_model * tl.info.d_vocab
    _same_trace(tl.trace(_request(tl.spec)), nn.trace(_request(nn.spec)))


def test_steered_traces_are_the_same_and_steering_changes_them(pair):
    tl, nn = pair
    spec = tl.spec
    base = tl.trace(_request(spec))
    last = spec.saes[-1].id
    top = int(base.saes[last].top_idx[-1, 0])  # active at the last token: clamping/ablating it matters
    for steer in (FeatureSteer(last, 3, 20.0), FeatureSteer(last, top, 0.0, "ablate"),
                  FeatureSteer(spec.saes[0].id, 7, 5.0, "clamp", start=2)):
        a, b = tl.trace(_request(spec, (steer,))), nn.trace(_request(spec, (steer,)))
        _same_trace(a, b)
        assert np.abs(np.exp(a.next_token_logprobs) - np.exp(base.next_token_logprobs)).max() > 1e-3, steer


def test_generation_kl_and_sae_questions_agree(pair):
    tl, nn = pair
    spec = tl.spec
    req = _request(spec, (FeatureSteer(spec.saes[-1].id, 3, 20.0),))
    g = GenerateRequest(req, max_new_tokens=6, temperature=0.0)
    ga, gb = tl.generate(g), nn.generate(g)
    assert ga.tokens == gb.tokens and ga.text == gb.text
    from interp.backends.api import KLRequest, SpliceRequest

    kl = KLRequest(req, ga.tokens, ga.prompt_tokens)
    _close(tl.per_token_kl(kl), nn.per_token_kl(kl), "kl")
    sid = spec.saes[-1].id
    sa, sb = tl.splice(SpliceRequest(req.base(), sid)), nn.splice(SpliceRequest(req.base(), sid))
    for k in ("ce_clean", "ce_spliced", "ce_with_error_term", "kl_mean"):
        _close(sa[k], sb[k], k)
    ea, eb = tl.feature_logit_effects(sid, 3, k=5), nn.feature_logit_effects(sid, 3, k=5)
    assert [t for t, _ in ea["promoted"]] == [t for t, _ in eb["promoted"]]
    _close([v for _, v in ea["promoted"]], [v for _, v in eb["promoted"]], "W_dec W_U")
    lens_a, lens_b = tl.logit_lens(tl.trace(req)), nn.logit_lens(nn.trace(req))
    _close(lens_a.top_prob, lens_b.top_prob, "logit lens")


def test_tls_centring_is_the_only_difference(pair):
    """Without the centred view, HF's raw residual norms differ from TL's; attention and log-probs do not."""
    tl, nn = pair
    a = tl.trace(_request(tl.spec))
    nn.centre = False
    try:
        raw = nn.trace(_request(nn.spec))
    finally:
        nn.centre = True
    assert np.abs(raw.resid_post_norm - a.resid_post_norm).max() > 1e-2
    np.testing.assert_allclose(raw.attention, a.attention, rtol=0, atol=ABS)
    _close(a.next_token_logprobs, raw.next_token_logprobs, "log-probs")


def test_registry_kinds():
    assert all(REGISTRY.get(m).backend == "transformer_lens" for m in MODELS)
