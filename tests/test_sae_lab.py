"""SAE lab (issue #17): the toy recovers its features, weights fold like sae-lens saves them, the real layer
splices in, and the page trains in AppTest. Real sae-lens SAEs and the real embedded model, no mocks."""
from dataclasses import replace

import numpy as np
import pytest
import torch

from interp.errors import BadInput
from interp.sae_lab import toy as toy_lab
from interp.sae_lab.config import TOY_DEFAULT, LabConfig
from interp.sae_lab.train import evaluate, make_sae, run, snapshot


def test_toy_default_recovers_all_six_features_with_a_fixed_seed():
    toy = toy_lab.ToyConfig()
    assert (toy.n_features, toy.d) == (6, 2)
    r = toy_lab.evaluate_toy(toy, run(TOY_DEFAULT, toy.d, toy.batches()).weights)
    assert all(x["cosine"] >= 0.9 for x in r["recovery"]), r["recovery"]
    assert r["all_recovered"]  # and each by its own latent
    assert r["dead"] == 0
    assert r["l0"] <= toy.mean_l0() + 0.05  # sparse: no more active latents than the data have features


def test_the_sweep_shows_the_trade_off_the_caption_claims():
    """Weak L1: better reconstruction, features not all recovered; strong L1: all recovered, lower EV."""
    toy = toy_lab.ToyConfig()
    rows = {r["penalty"]: r for r in toy_lab.sweep(toy, TOY_DEFAULT)}
    weak, strong = rows["L1 0.03"], rows["L1 0.5"]
    assert weak["recovered"] < 6 and strong["recovered"] == 6
    assert weak["explained_variance"] > strong["explained_variance"]
    assert weak["l0"] > strong["l0"]


@pytest.mark.parametrize("arch", ["standard", "topk"])
def test_snapshot_folds_the_training_scale_as_sae_lens_saves(arch):
    """The page keeps numpy weights in input units; rebuilt as a sae-lens inference SAE they must give the
    training SAE's reconstruction of the scaled input, scaled back."""
    cfg = LabConfig(arch=arch, d_sae=16, k=3, l1=1.0, steps=1)
    sae, scale = make_sae(cfg, 8), 0.37
    x = torch.randn(64, 8) * 5
    with torch.no_grad():
        expected = sae.decode(sae.encode(x * scale)) / scale
        inf = snapshot(sae, scale).sae()
        got = inf.decode(inf.encode(x))
    assert torch.allclose(got, expected, atol=1e-4)


@pytest.mark.parametrize("bad", [dict(steps=0), dict(arch="gated"), dict(arch="topk", k=7, d_sae=6), dict(lr=5.0),
                                 dict(d_sae=10**6), dict(l1=-1.0), dict(steps=2.5)])
def test_lab_config_rejects_out_of_range_values(bad):
    with pytest.raises(BadInput):
        replace(TOY_DEFAULT, **bad)


@pytest.mark.parametrize("bad", [dict(d=6), dict(n_features=40), dict(freq=(0.05,) * 5), dict(importance=(0.0,) * 6)])
def test_toy_config_rejects_bad_values(bad):
    with pytest.raises(BadInput):
        replace(toy_lab.ToyConfig(), **bad)


def test_real_layer_activations_splice_and_closest_shipped(backend):
    from interp.sae_lab.real import ce_recovered, closest_shipped, layer_activations, shipped_decoder, shipped_labels

    hook = "blocks.1.hook_resid_post"
    data = layer_activations(backend, hook, max_windows=30)
    assert data.train.shape[1] == 128 and len(data.eval) == 3 * 127  # 10 % of 30 windows, BOS dropped
    p = run(LabConfig(arch="topk", d_sae=128, k=16, steps=120, lr=3e-3, batch=512), 128, data.batches(), data.scale)
    m = evaluate(p.weights, data.eval)
    assert 0.5 < m["explained_variance"] < 1 and m["l0"] == pytest.approx(16, abs=0.5)
    ce = ce_recovered(backend, data, p.weights, max_windows=2)
    assert ce["ce_clean"] < ce["ce_spliced"] < ce["ce_ablated"]
    rows = closest_shipped(p.weights, shipped_decoder(backend, hook), shipped_labels(backend, hook), m["fires"])
    assert len(rows) == 128 and all(-1 <= r["cosine"] <= 1 for r in rows)
    assert [r["fires"] for r in rows] == sorted((r["fires"] for r in rows), reverse=True)
    assert np.median([r["cosine"] for r in rows]) > 0.3  # a short run already finds directions the shipped SAE has


def test_sae_lab_page_trains_the_toy_and_the_real_layer():
    from tests.test_app import assert_clean, charts, new_app

    at = new_app()
    at.switch_page("views/sae_lab.py").run()
    assert_clean(at)
    assert any("Press" in i.value for i in at.info)
    at.button(key="lab_train").click().run()
    assert_clean(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Features recovered (cosine ≥ 0.9)"] == "6 of 6"
    assert metrics["Dead latents"] == "0 of 6"
    titles = [c.get("title") for c in charts(at)]
    assert "True directions and learned decoder directions" in str(titles)
    at.radio(key="lab_preset").set_value("real").run()
    at.number_input(key="lab_real_steps").set_value(60).run()
    at.button(key="lab_train").click().run()
    assert_clean(at)
    assert not at.error, [e.value for e in at.error]
    metrics = {m.label: m.value for m in at.metric}
    assert "CE loss recovered" in metrics and float(metrics["Explained variance"]) > 0
