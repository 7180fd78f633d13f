"""Head-type scores: hand-made patterns, then agreement with TransformerLens's head_detector."""
import numpy as np
import pytest

from interp.analysis import heads


def one_hot_pattern(n, target):
    """[q, k] pattern attending fully to target(q) (clipped to a valid causal key)."""
    p = np.zeros((n, n))
    for q in range(n):
        p[q, min(max(target(q), 0), q)] = 1.0
    return p


def test_perfect_previous_token_head():
    n = 10
    p = one_hot_pattern(n, lambda q: q - 1)
    # row 0 can only attend to itself: TL's "mul" score averages over all n rows
    assert heads.detection_score(p, heads.previous_token_detection(n)) == pytest.approx((n - 1) / n)


def test_perfect_induction_head_on_repeated_tokens():
    tokens = heads.repeated_random_tokens(vocab_size=500, length=20, seed=3)
    n = len(tokens)  # 41 = BOS + 20 + 20
    p = one_hot_pattern(n, lambda q: q - 20 + 1 if q > 20 else 0)
    s = heads.head_scores(p[None, None], tokens)
    assert s["induction"][0, 0] == pytest.approx(20 / n)
    assert s["bos_sink"][0, 0] == pytest.approx(21 / n)


def test_duplicate_token_and_entropy():
    tokens = np.array([0, 5, 6, 5, 6])
    p = one_hot_pattern(5, lambda q: q - 2 if q >= 3 else 0)
    s = heads.head_scores(p[None, None], tokens)
    assert s["duplicate_token"][0, 0] == pytest.approx(2 / 5)
    assert s["entropy"][0, 0] == pytest.approx(0.0, abs=1e-9)
    uniform = np.tril(np.ones((4, 4))) / np.arange(1, 5)[:, None]
    assert heads.entropy(uniform) == pytest.approx(np.mean(np.log(np.arange(1, 5))))


def test_scores_match_transformer_lens_head_detector(backend):
    import torch
    from transformer_lens.head_detector import detect_head

    model = backend.model
    probe = heads.repeated_random_tokens(model.cfg.d_vocab, 40, seed=0)
    text = "Elizabeth looked at Mr. Darcy and said that she was sure of it."
    for seq, name, key in ((text, "previous_token_head", "previous_token"), (text, "duplicate_token_head", "duplicate_token")):
        tl = detect_head(model, seq, name).numpy()
        tokens = model.to_tokens(seq)[0].numpy()
        _, cache = model.run_with_cache(torch.from_numpy(tokens)[None])
        pats = np.stack([cache["pattern", l][0].numpy() for l in range(model.cfg.n_layers)])
        np.testing.assert_allclose(heads.head_scores(pats, tokens)[key], tl, atol=1e-5)
    # induction on the random probe (passed as tokens: a random-token string would not round-trip)
    _, cache = model.run_with_cache(torch.from_numpy(probe)[None])
    pats = np.stack([cache["pattern", l][0].numpy() for l in range(model.cfg.n_layers)])
    det = torch.from_numpy(heads.induction_detection(probe)).float()
    from transformer_lens.head_detector import compute_head_attention_similarity_score
    tl = np.array([[compute_head_attention_similarity_score(torch.from_numpy(pats[l, h]), det, exclude_bos=False,
                                                             exclude_current_token=False, error_measure="mul")
                    for h in range(model.cfg.n_heads)] for l in range(model.cfg.n_layers)])
    np.testing.assert_allclose(heads.head_scores(pats, probe)["induction"], tl, atol=1e-5)
