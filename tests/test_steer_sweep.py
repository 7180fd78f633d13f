"""Batched steering, the dose-response sweep and the steerability scan, on the real embedded model and SAEs."""
import json

import numpy as np
import pytest
import torch

from interp.errors import BadInput
from interp.registry import REGISTRY
from interp.requests import FeatureSteer
from interp.steer_batch import repetition_rate, steered_batch

SAE = "blocks.2.hook_resid_post"
PROMPT = "She walked into the room and"


@pytest.mark.parametrize("mode,value", [("add", 4.0), ("clamp", 3.0)])
def test_batched_steering_matches_the_app_steering_hook(backend, mode, value):
    """A batch row steers exactly as interp.steering does in the app's own forward pass."""
    tokens, _ = backend.to_tokens(PROMPT, 256)
    res = steered_batch(backend, SAE, tokens.repeat(2, 1), torch.tensor([656, 5]), torch.tensor([value, value]),
                        mode=mode, n_new=0)
    for row, f in enumerate((656, 5)):
        ref = torch.log_softmax(backend.logits(tokens, (FeatureSteer(SAE, f, value, mode),))[0].float(), -1)
        np.testing.assert_allclose(res.prompt_logprobs[row], ref.numpy(), atol=2e-4)


def test_zero_strength_rows_are_the_base_run_and_share_draws(backend):
    tokens, _ = backend.to_tokens(PROMPT, 256)
    res = steered_batch(backend, SAE, tokens.repeat(4, 1), torch.tensor([656] * 4), torch.tensor([0.0, 0.0, 0.0, 9.0]),
                        n_new=12, sample_of=torch.tensor([0, 1, 0, 0]))
    assert np.array_equal(res.tokens[0], res.tokens[2])  # same sample index, same distribution: same text
    assert not np.array_equal(res.tokens[0], res.tokens[1])  # another sample index: other draws
    assert not np.array_equal(res.tokens[0], res.tokens[3])  # steered


def test_repetition_rate():
    loop = np.array([[0, 1] + [7] * 10])
    varied = np.array([[0, 1] + list(range(10, 20))])
    assert repetition_rate(loop, 2)[0] > 0.8 and repetition_rate(varied, 2)[0] == 0


def test_sweep_effect_rises_and_collapse_is_marked(backend):
    from interp.steer_sweep import GRID, sweep

    sw = sweep(backend, SAE, PROMPT, 656, samples=4, n_new=12)  # a lighter sweep than the app's (8 x 20)
    assert len(sw.points) == len(GRID) == 12
    assert len(sweep(backend, SAE, PROMPT, 656, also=4.0, n_new=2, samples=1).points) == 13
    assert sw.points[0].kl_prompt == pytest.approx(0.0, abs=1e-6)
    assert sw.points[-1].kl_prompt > sw.points[3].kl_prompt > 0
    assert sw.points[-1].topic_mass > 3 * sw.points[0].topic_mass  # the effect rose
    assert sw.working and not sw.points[-1].coherent
    with pytest.raises(BadInput, match="ablate"):  # the app's own error type, never a bare ValueError
        sweep(backend, SAE, PROMPT, 656, mode="ablate")


@pytest.mark.parametrize("model", ["tiny-austen-bible", "tiny-induction"])
def test_steerability_scan_is_stored_beside_every_embedded_sae(model):
    from interp.steerability import FILE, load

    for spec in REGISTRY.get(model).saes:
        path = spec.path / FILE
        assert path.exists() and path.stat().st_size <= 2**20, spec.id
        scan = load(spec.path)
        live = json.loads(spec.labels_path.read_text())
        assert set(scan["features"]) == set(live)  # every live feature scored
        checked = [v for v in scan["features"].values() if v["checked"]]
        assert checked and all(len(v["rise"]) == len(scan["ratios"]) for v in checked)
        assert all((v["range"] is None) == (v["score"] == 0) for v in checked)


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '{"features": 3}', "[" * 5000])
def test_a_corrupt_steerability_file_degrades_to_no_scan_with_a_sentence(tmp_path, text):
    from interp.steerability import FILE, load, read

    (tmp_path / FILE).write_text(text)
    scan, message = read(tmp_path)
    assert scan == {} and load(tmp_path) == {} and message and FILE in message
    assert read(tmp_path / "missing") == ({}, None)  # no scan (hub SAEs): nothing to say


def test_ranking_hides_always_on_features_and_leads_with_checked_ones():
    from components.steering_panel import ranking, to_slider

    scan = {"ratios": [0.25, 0.5, 1.0],
            "features": {"1": {"score": 0.2, "range": [0.25, 0.5], "checked": True, "scripture": [0.0, 0.5, 3.0]},
                         "2": {"score": 0.3, "range": [0.5, 0.5], "checked": True, "scripture": [0.0, 0.0, 9.0]},
                         "3": {"score": 0.0, "range": None, "checked": False, "tf_rise": [0.5]}}}
    labels = {"1": {"label": "a", "freq": 0.01}, "2": {"label": "b", "freq": 0.9}, "3": {"label": "c", "freq": 0.0}}
    assert list(ranking(scan, labels)["feature"]) == [1, 3]
    assert list(ranking(scan, labels, hide_always_on=False)["feature"]) == [2, 1, 3]
    by_topic = ranking(scan, labels, hide_always_on=False, by="scripture +")
    assert list(by_topic["feature"]) == [1, 2, 3] and list(by_topic["scripture +"]) == [0.5, 0.0, 0.0]  # 9.0: collapsed
    assert to_slider(4.26, 2.13) == 2.0 and to_slider(100.0, 1.0) == 10.0 and to_slider(-0.3, 1.0) == -0.5


def test_steering_view_shows_texts_first_the_dose_response_and_a_searchable_pick():
    from tests.test_app import assert_clean, new_app

    at = new_app(prompt=PROMPT, sae=SAE, sae_view="steering")  # the SAE page draws one view; a link picks it
    at.switch_page("views/sae_features.py").run()
    search = at.selectbox(key="steer_search")
    assert 656 in search.options or any(o.startswith("#656 ") for o in search.options)
    search.set_value(656).run()
    assert_clean(at)
    assert at.number_input(key="steer_f0").value == 656
    strength = at.slider(key="steer_a0").value
    assert strength > 0  # the middle of the feature's working range, on the slider's grid
    specs = [json.loads(el.proto.spec) for el in at.get("vega_lite_chart")]
    titles = [s.get("title") if isinstance(s.get("title"), str) else (s.get("title") or {}).get("text", "") for s in specs]
    assert any(t.startswith("Dose-response of feature 656") for t in titles), titles
    assert any("Working range" in s.value for s in at.success)
    base, steered = [t.value for t in at.text][:2]
    assert base != steered
