"""Every sidebar example states one measurable claim; each test here measures it on the real models.

If a claim fails, change the claim (components/examples.py) or the model, never the test.
"""
import json
import re

import numpy as np
import pytest

from components.examples import EXAMPLES, STEER_FEATURE, STEER_MULT, STEER_SAE
from interp.analysis.heads import head_scores
from interp.attribution import attribute_feature
from interp.registry import REGISTRY
from interp.requests import TraceRequest


def example(title_start: str):
    return next(e for e in EXAMPLES if e.title.startswith(title_start))


def numbers(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"\d+\.\d+", text)]


@pytest.fixture(scope="module")
def induction():
    from interp.backends import load_backend

    return load_backend("tiny-induction")


def test_every_example_is_tested():
    tested = ("Steer Austen toward scripture", "The most previous-token-like head", "Induction head",
              "An induction head writes", "Which components write", "Two prompts")
    assert len(EXAMPLES) == len(tested)
    assert all(any(e.title.startswith(t) for t in tested) for e in EXAMPLES)


def test_steering_example_moves_austen_toward_scripture(backend):
    """20 paired samples (sample i of base and steered share their random draws), 30 tokens, temperature 0.8."""
    from interp.steer_claims import topic_shift

    ex = example("Steer Austen toward scripture")
    assert ex.state["view"]["sae_view"] == "steering"  # the link opens the Steering view
    labels = json.loads(REGISTRY.get(ex.state["model"]).sae(STEER_SAE).labels_path.read_text())
    alpha = STEER_MULT * labels[str(STEER_FEATURE)]["max_act"]  # the app's unit: x max activation
    shift = topic_shift(backend, STEER_SAE, ex.state["prompt"], STEER_FEATURE, alpha, samples=20)
    base_rate, steered_rate = numbers(ex.description.split("rise from")[1])[:2]
    assert shift.base_rate <= base_rate + 0.05 and shift.steered_rate >= steered_rate - 0.05, shift
    assert shift.steered_rate >= 5 * max(shift.base_rate, 0.05), shift
    assert shift.steered_share >= 0.5 and shift.base_share <= 0.1, shift  # not a few continuations carrying it
    # coherence held: loss under the unsteered model within 0.5 nats, and no collapse into loops
    assert shift.steered_loss <= shift.base_loss + 0.5, shift
    assert shift.steered_repetition <= shift.base_repetition + 0.15, shift


def test_steering_example_strength_is_inside_the_working_range(backend):
    """The dose-response sweep marks the example's strength as working (effect risen, coherence held)."""
    from interp.steer_sweep import sweep

    ex = example("Steer Austen toward scripture")
    labels = json.loads(REGISTRY.get(ex.state["model"]).sae(STEER_SAE).labels_path.read_text())
    alpha = STEER_MULT * labels[str(STEER_FEATURE)]["max_act"]
    sw = sweep(backend, STEER_SAE, ex.state["prompt"], STEER_FEATURE, also=alpha)
    point = next(p for p in sw.points if abs(p.alpha - alpha) < 1e-3)  # the example's own strength, swept too
    assert point.risen and point.coherent, sw.points
    ratio = point.ratio
    assert 0.3 <= ratio <= 0.5  # "about 0.4x the mean residual norm"
    assert not sw.points[-1].coherent  # the grid goes past collapse


def test_previous_token_head_claim(backend):
    ex = example("The most previous-token-like head")
    t = backend.trace(TraceRequest(ex.state["model"], ex.state["prompt"]))
    A = t.attention[..., 2:, :]  # queries from position 2 (position 1's previous token is BOS)
    q = np.arange(2, t.n_pos)
    prev = A[..., np.arange(len(q)), q - 1]  # [layer, head, query]
    share = prev.mean(-1)
    assert np.unravel_index(share.argmax(), share.shape) == (2, 3)
    assert share[2, 3] == pytest.approx(0.30, abs=0.02)
    top = (A[2, 3].argmax(-1) == q - 1).mean()
    assert 0.4 <= top <= 0.6  # "half of the queries"


def test_induction_example_claim(induction):
    ex = example("Induction head")
    t = induction.trace(TraceRequest("tiny-induction", ex.state["prompt"]))
    s = head_scores(t.attention, t.tokens)
    assert np.unravel_index(s["induction"].argmax(), (2, 2)) == (1, 1)
    assert s["induction"][1, 1] == pytest.approx(0.20, abs=0.02)
    assert np.unravel_index(s["previous_token"].argmax(), (2, 2)) == (0, 0)
    assert s["previous_token"][0, 0] == pytest.approx(0.53, abs=0.02)


def test_induction_feature_example_claim(induction):
    from interp import sae_tools

    ex = example("An induction head writes")
    sae, pos = ex.state["sae"], ex.state["view"]["sae_token"]
    t = induction.trace(TraceRequest("tiny-induction", ex.state["prompt"], (sae,)))
    assert t.str_tokens[pos] == " red" and t.str_tokens[pos - 17] == " red"  # the second and first ' red'
    acts = sae_tools.feature_activations(induction, sae, t.saes[sae].inputs, 42)
    assert np.all(acts[1:18] == 0)  # the whole first copy, up to its '.'
    assert acts[pos] == pytest.approx(4.5, abs=0.1)
    a = attribute_feature(induction, ex.state["prompt"], sae, 42, pos)
    assert a.values[a.names.index("L1H1")] >= 0.9 * a.pre_activation
    src = a.source_frame(1, 1)
    assert src.loc[src["contribution"].idxmax(), "token"] == " app"


def test_god_feature_example_claim(backend):
    from interp import sae_tools

    ex = example("Which components write")
    sae, pos = ex.state["sae"], ex.state["view"]["sae_token"]
    t = backend.trace(TraceRequest(ex.state["model"], ex.state["prompt"], (sae,)))
    assert t.str_tokens[5] == t.str_tokens[pos] == " God"
    acts = sae_tools.feature_activations(backend, sae, t.saes[sae].inputs, 464)
    assert acts[5] == 0 and acts[pos] == pytest.approx(0.94, abs=0.02)
    a = attribute_feature(backend, ex.state["prompt"], sae, 464, pos)
    top = a.frame().iloc[np.argsort(-np.abs(a.values))[0]]
    assert top["component"] == "L1 MLP" and top["contribution"] == pytest.approx(0.90, abs=0.02)


def test_two_prompts_example_claim(backend):
    from interp import sae_tools
    from interp.charts.compare import feature_diff_frame

    ex = example("Two prompts")
    sae = ex.state["sae"]
    ta = backend.trace(TraceRequest(ex.state["model"], ex.state["prompt"], (sae,)))
    tb = backend.trace(TraceRequest(ex.state["model"], ex.state["view"]["prompt2"], (sae,)))
    assert ta.n_pos == tb.n_pos
    labels = json.loads(REGISTRY.get(ex.state["model"]).sae(sae).labels_path.read_text())
    fa = sae_tools.all_feature_activations(backend, sae, ta.saes[sae].inputs)[1:]
    fb = sae_tools.all_feature_activations(backend, sae, tb.saes[sae].inputs)[1:]
    diff = feature_diff_frame(fa, fb, labels)
    assert 577 in list(diff["feature"][:2])
    assert fa[:, 577].max() == pytest.approx(2.5, abs=0.05) and fb[:, 577].max() == 0
    assert "Elizabeth" in labels["577"]["label"]
