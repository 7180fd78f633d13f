"""Feature attribution: the pre-activation of an SAE feature split over embeddings, heads and MLPs (real model)."""
import numpy as np
import pytest
import torch

from interp.attribution import attribute_feature
from interp.errors import BadInput

PROMPT = "In the beginning, God created the heavens and the earth. And God said, Let there be light"


@pytest.mark.parametrize("sae_id", [f"blocks.{l}.hook_resid_post" for l in range(4)])
def test_parts_sum_to_sae_lens_pre_activation(backend, sae_id):
    """At every position, for the features that fire most, the shares add up to sae-lens's own
    hook_sae_acts_pre (tolerance 1e-4), and the activation equals sae.encode."""
    sae = backend.sae(sae_id)
    tokens, _ = backend.to_tokens(PROMPT, 256)
    _, cache = backend.model.run_with_cache(tokens, names_filter=lambda n: n == sae_id)
    with torch.no_grad():
        acts = sae.encode(cache[sae_id][0])  # [pos, d_sae]
    checked = 0
    for pos in (1, 5, tokens.shape[1] - 1):
        for feature in acts[pos].topk(2).indices.tolist() + [7]:  # two firing features and one that may not fire
            a = attribute_feature(backend, PROMPT, sae_id, feature, pos)
            assert abs(a.values.sum() - a.pre_activation) <= 1e-4, (sae_id, pos, feature, a.residual)
            assert a.activation == pytest.approx(float(acts[pos, feature]), abs=1e-5)
            assert "rest" not in a.kinds, a.notes  # GPT-2 style: every part of the residual is attributed
            checked += 1
    assert checked == 9


def test_components_cover_the_layers_before_the_hook(backend):
    a = attribute_feature(backend, PROMPT, "blocks.1.hook_resid_post", 3, 4)
    heads = [(l, h) for k, l, h in zip(a.kinds, a.layers, a.heads) if k == "head"]
    assert heads == [(l, h) for l in range(2) for h in range(4)]
    assert [n for n, k in zip(a.names, a.kinds) if k == "mlp"] == ["L0 MLP", "L1 MLP"]
    assert a.kinds[:2] == ("embed", "pos_embed") and a.kinds[-1] == "sae_bias"
    assert a.attention.shape == (2, 4, a.attention.shape[-1])


def test_head_share_splits_over_source_tokens(backend):
    """Each head's share = sum over source tokens of attention x value projection; attention rows sum to 1
    and put no weight on later tokens."""
    pos = 12
    a = attribute_feature(backend, PROMPT, "blocks.2.hook_resid_post", 464, pos)
    for l in range(3):
        for h in range(4):
            share = a.values[a.names.index(f"L{l}H{h}")]
            assert a.source_values[l, h].sum() == pytest.approx(share, abs=1e-5)
            assert a.attention[l, h].sum() == pytest.approx(1.0, abs=1e-5)
            assert np.all(a.attention[l, h, pos + 1:] == 0)
    ranked = a.head_frame()
    assert list(ranked["contribution"].abs()) == sorted(ranked["contribution"].abs(), reverse=True)


def test_share_chart_legend_lists_only_the_kinds_drawn(backend):
    from interp.charts.compare import KIND_COLORS, contribution_bars, contribution_frame

    df = contribution_frame(attribute_feature(backend, PROMPT, "blocks.2.hook_resid_post", 464, 12), top=5)
    scale = contribution_bars(df, "t").to_dict()["encoding"]["color"]["scale"]
    assert set(scale["domain"]) == set(df["kind"]) and "head" in scale["domain"]
    assert scale["range"] == [KIND_COLORS[k] for k in scale["domain"]]
    assert len(set(KIND_COLORS.values())) == len(KIND_COLORS)  # no two kinds share a colour


def test_bad_feature_and_position_are_clear_errors(backend):
    with pytest.raises(BadInput, match="does not exist"):
        attribute_feature(backend, PROMPT, "blocks.2.hook_resid_post", 10_000, 3)
    with pytest.raises(BadInput, match="outside this prompt"):
        attribute_feature(backend, PROMPT, "blocks.2.hook_resid_post", 3, 500)


@pytest.mark.parametrize("norm", ["none", "layer_norm", "constant_norm_rescale"])
def test_other_sae_architectures_and_input_norms(backend, spec, tmp_path, norm):
    """A standard (ReLU) SAE on hook_resid_pre, as gpt2-small-res-jb ships, with each input normalisation
    the split supports: the parts still add up to sae-lens's own pre-activation."""
    from dataclasses import replace

    from sae_lens import StandardSAE, StandardSAEConfig

    from interp.backends.transformer_lens import TransformerLensBackend
    from interp.registry import SAESpec

    hook = "blocks.2.hook_resid_pre"
    torch.manual_seed(0)
    cfg = StandardSAEConfig(d_in=128, d_sae=256, normalize_activations=norm)
    cfg.metadata.hook_name = hook
    sae = StandardSAE(cfg)
    with torch.no_grad():
        sae.b_dec.normal_(0, 0.5)
        sae.b_enc.normal_(0, 0.1)
    sae.save_model(str(tmp_path / "sae"))
    b = TransformerLensBackend(replace(spec, saes=(SAESpec(id=hook, hook=hook, path=tmp_path / "sae"),)), backend.model)
    for feature, pos in ((0, 3), (17, 9), (255, 1)):
        a = attribute_feature(b, PROMPT, hook, feature, pos)
        assert abs(a.values.sum() - a.pre_activation) <= 1e-4, (norm, feature, pos, a.residual)
        assert [n for n, k in zip(a.names, a.kinds) if k == "mlp"] == ["L0 MLP", "L1 MLP"]  # resid_pre 2: layers 0-1
