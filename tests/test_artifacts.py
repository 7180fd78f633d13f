"""The committed embedded artifacts: formats, size, SAE quality and labels, and the heads a demo points at."""
import json

import pytest
import torch

from interp.registry import EMBEDDED_DIR

ASSETS = EMBEDDED_DIR.parent
PROSE = ("It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in "
         "want of a wife. However little known the feelings or views of such a man may be on his first entering a "
         "neighbourhood, this truth is so well fixed in the minds of the surrounding families.")


def shipped_format_problems(files) -> list[str]:
    """Assets are safetensors, JSON (or JSON lines) and Markdown only; a gzipped file must be a gzipped
    safetensors file that safetensors itself reads (no pickle can hide in one)."""
    import gzip

    from safetensors.numpy import load

    problems = []
    for p in files:
        if p.name.endswith(".safetensors.gz"):
            try:
                load(gzip.decompress(p.read_bytes()))
            except Exception as e:  # noqa: BLE001  (any failure to read is the finding)
                problems.append(f"{p}: not a gzipped safetensors file ({e})")
        elif p.suffix not in {".safetensors", ".json", ".jsonl", ".md"}:
            problems.append(f"{p}: {p.suffix!r} is not a shipped format")
    return problems


def test_only_safetensors_json_and_text_and_under_25_mb():
    files = [p for p in ASSETS.rglob("*") if p.is_file()]
    assert files
    assert not shipped_format_problems(files)
    assert sum(p.stat().st_size for p in files) <= 25 * 2**20


def test_every_layer_has_a_good_sae_with_labels(spec):
    assert len(spec.saes) == 4
    for s in spec.saes:
        m = json.loads((s.path / "metrics.json").read_text())
        assert m["explained_variance"] >= 0.85, (s.id, m)
        assert m["dead_fraction"] < 0.20, (s.id, m)
        labels = json.loads(s.labels_path.read_text())
        assert len(labels) == m["d_sae"] - m["dead_latents"]  # one label per live latent
        assert all(v["label"] and v["contexts"] for v in labels.values())


def test_features_active_on_prose_are_labelled(backend, spec):
    from interp.requests import TraceRequest

    trace = backend.trace(TraceRequest(spec.name, PROSE, saes=tuple(s.id for s in spec.saes)))
    for s in spec.saes:
        labels = json.loads(s.labels_path.read_text())
        acts = trace.saes[s.id]
        live = {int(f) for f, a in zip(acts.top_idx[1:].ravel(), acts.top_act[1:].ravel()) if a > 0}
        unlabelled = live - {int(k) for k in labels}
        assert len(unlabelled) <= 0.05 * len(live), (s.id, sorted(unlabelled)[:10])


# The issue's targets (TransformerLens head_detector "mul" scores). The 4-layer default meets neither: its best
# previous-token head (L2H3) scores ~0.3 and no head scores above 0.01 on the induction probe (MODEL_CARD.md,
# "What did not work"); its strict xfails turn into failures the day a retrained default meets them. The second
# embedded model, tiny-induction (attention-only, 2 layers), meets both: tested below.
PREV_TOKEN_TARGET, INDUCTION_TARGET = 0.4, 0.3
PREV_TOKEN_SHIPPED = 0.25  # what the committed model does have: L2H3 attends to the previous token


def best_previous_token_score(backend) -> float:
    from transformer_lens.head_detector import detect_head

    return float(detect_head(backend.model, PROSE, "previous_token_head").max())


def best_induction_score(backend) -> float:
    """Best head_detector "mul" score against the induction pattern on [BOS] + S + S, S = 50 random tokens."""
    from transformer_lens.head_detector import compute_head_attention_similarity_score

    from interp.analysis.heads import induction_detection, repeated_random_tokens

    model = backend.model
    best = 0.0
    for seed in range(3):
        tokens = repeated_random_tokens(model.cfg.d_vocab, 50, seed)
        _, cache = model.run_with_cache(torch.from_numpy(tokens)[None])
        det = torch.from_numpy(induction_detection(tokens)).float()
        for l in range(model.cfg.n_layers):
            for h in range(model.cfg.n_heads):
                best = max(best, compute_head_attention_similarity_score(
                    cache["pattern", l][0, h], det, exclude_bos=False, exclude_current_token=False, error_measure="mul"))
    return best


@pytest.fixture(scope="module")
def induction_backend():
    from interp.backends import load_backend

    return load_backend("tiny-induction")


def test_induction_model_saes_are_good(induction_backend):
    from interp.registry import REGISTRY

    for s in REGISTRY.get("tiny-induction").saes:
        m = json.loads((s.path / "metrics.json").read_text())
        assert m["explained_variance"] >= 0.85 and m["dead_fraction"] < 0.20, (s.id, m)
        assert (s.path / "labels.json").exists() and (s.path / "CARD.md").exists()
        induction_backend.sae(s.id)  # loads through the app's loader


def test_induction_model_has_a_previous_token_head(induction_backend):
    assert best_previous_token_score(induction_backend) >= PREV_TOKEN_TARGET


def test_induction_model_has_an_induction_head(induction_backend):
    assert best_induction_score(induction_backend) >= INDUCTION_TARGET


def test_induction_model_copies_a_repeated_random_sequence(induction_backend):
    """Behaviour, not only attention: on the second copy of 50 random tokens the loss falls far below the
    first copy's (about ln 4096 = 8.3 nats, nothing to predict from)."""
    from interp.analysis.heads import repeated_random_tokens

    model = induction_backend.model
    tokens = torch.from_numpy(repeated_random_tokens(model.cfg.d_vocab, 50, 7))[None]
    with torch.no_grad():
        nll = -torch.log_softmax(model(tokens), -1)[0, :-1].gather(-1, tokens[0, 1:, None])[:, 0]
    first, second = nll[1:50].mean().item(), nll[51:].mean().item()
    assert second < first - 3, (first, second)


def test_model_has_a_partial_previous_token_head(backend):
    assert best_previous_token_score(backend) >= PREV_TOKEN_SHIPPED


@pytest.mark.xfail(strict=True, reason="issue target not met: best previous-token score ~0.3 < 0.4")
def test_previous_token_head_meets_the_issue_target(backend):
    assert best_previous_token_score(backend) >= PREV_TOKEN_TARGET


@pytest.mark.xfail(strict=True, reason="issue target not met: no induction head (best score ~0.01 < 0.3)")
def test_model_has_an_induction_head(backend):
    assert best_induction_score(backend) >= INDUCTION_TARGET
