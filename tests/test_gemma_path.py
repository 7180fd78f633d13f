"""The Gemma Scope path offline: a reduced Gemma 2 and JumpReLU SAEs through the app's own code.

tests/gemma_cache.py builds a random-weight Gemma2ForCausalLM (4 layers, d_model 256, 4 query heads sharing
2 key/value heads, sliding window 6 on layers 0 and 2, soft caps 50/30) and Gemma Scope-format SAEs in a
local hub cache; tests/gemma_probe.py registers them through registry.gemma_scope (as gemma-2-2b) and runs
every check in one subprocess that sees only that cache (huggingface_hub reads HF_HOME at import) and
refuses every socket. One torch thread there: on a shared 2-core machine, two threads per tiny op made the
probe 20x slower. Parity is against Hugging Face's eager attention of the same weights.
The head views (QK split, direct logit attribution, value-weighted pattern, head anatomy) are checked against
TL's own hooks (rotated q/k, soft-capped scores, hook_z, ln1_post's scale, hook_attn_out, hook_mlp_out) and HF's
logits. To add a check: a function in gemma_probe.SECTIONS and a test reading probe["sections"][name];
the session fixture `gemma_cache` (tests/conftest.py) builds the cache once per test session.
"""
from __future__ import annotations

import pytest

from tests.gemma_probe import run_gemma_probe


@pytest.fixture(scope="module")
def probe(gemma_cache) -> dict:
    out = run_gemma_probe(gemma_cache)
    assert out["network_attempts"] == []
    return out


def test_registered_like_gemma_2_2b():
    """Same processing flags and SAE layout as the real entry (the test model is built by the same function)."""
    from interp.registry import GEMMA_SCOPE_PROCESSING, REGISTRY, gemma_scope

    real = REGISTRY.get("gemma-2-2b")
    assert real.from_pretrained_kwargs == GEMMA_SCOPE_PROCESSING
    assert dict(GEMMA_SCOPE_PROCESSING) == {"fold_ln": False, "center_writing_weights": False, "center_unembed": False}
    assert real == gemma_scope("gemma-2-2b", real.title, "google/gemma-2-2b", 26, "gemma-scope-2b-pt-res-canonical",
                               neuronpedia="gemma-2-2b", description=real.description)
    assert real.saes[7].hook == "blocks.7.hook_resid_post" and real.saes[7].sae_id == "layer_7/width_16k/canonical"


def test_attention_and_logits_equal_hf_eager(probe, gemma_cache):
    f = probe["sections"]["faithfulness"]
    assert f["cfg"]["n_key_value_heads"] == 2 and f["cfg"]["n_heads"] == 4
    assert f["attn_types"] == ["local", "global", "local", "global"] and f["window"] == gemma_cache["window"] == 6
    assert f["n_pos"] > f["window"]
    assert f["attention_max_err"] < 1e-5
    assert f["logits_max_err"] < 1e-4 and f["next_logprob_max_err"] < 1e-4
    # the parts under test act on this prompt: HF's own numbers move by far more than the tolerance without them
    assert f["attention_change_without_softcap"] > 1e-3
    assert f["attention_change_without_window"] > 0.5
    assert f["logits_change_without_cap"] > 1.0 and f["logits_abs_max"] < 30.0
    # the logit lens of the last residual is the model's output, soft cap included
    assert f["lens_last_logits_err"] < 1e-4 and f["lens_last_prob_err"] < 1e-4 and f["lens_last_idx_equal"]
    assert f["max_keys_per_layer"] == [6, f["n_pos"], 6, f["n_pos"]]  # sliding layers see 6 keys, global all


def test_jumprelu_saes_equal_sae_lens_encode(probe, gemma_cache):
    s = probe["sections"]["saes"]
    assert len(s) == gemma_cache["n_layers"]
    for sid, r in s.items():
        layer = int(sid.split("/")[0].split("_")[1])
        assert r["hook"] == f"blocks.{layer}.hook_resid_post" and r["architecture"] == "jumprelu"
        assert (r["d_in"], r["d_sae"]) == (gemma_cache["d_model"], gemma_cache["d_sae"])
        assert r["inputs_err"] == 0.0  # the trace's SAE input is TL's activation at the hook
        assert r["encode_vs_by_hand"] < 1e-5  # pre * (pre > threshold), thresholds from params.npz
        assert r["top_act_err"] < 1e-5 and r["l0_equal"]
        assert 0.003 < r["fire_share"] < 0.05, r["fire_share"]  # a realistic share of latents fire
        assert r["below_threshold_positive"] > 0  # the thresholds decide: a ReLU would keep these


def test_steering_add_clamp_ablate(probe):
    s = probe["sections"]["steering"]
    for mode in ("add", "clamp", "ablate"):
        m = s[mode]
        assert m["delta_err"] < 1e-4, (mode, m)  # the hook moved by exactly (change) * W_dec[f]
        assert m["others_max"] == 0.0  # only the steered position
        assert m["next_token_change"] > 0.0
    assert s["clamp_to_own_value_change"] < 1e-5  # the error term is kept


def test_feature_split_over_heads_sums_to_pre_activation(probe):
    for c in probe["sections"]["attribution"]["cases"]:
        assert abs(c["residual"]) < 1e-4, c
        assert abs(c["pre"] - c["activation"]) < 1e-5 or c["activation"] == 0.0
        assert "head" in c["kinds"] and c["n_heads"] == 3 * 4  # layers 0-2 before resid_post 2, per query head
        assert "attn" not in c["kinds"] and "rest" not in c["kinds"] and c["notes"] == []
        assert c["source_sum_err"] < 1e-5  # each head's share splits over source tokens exactly


def test_generation_equals_hf_and_is_steered(probe):
    g = probe["sections"]["generation"]
    assert g["cached_decode_positions"] > 8 * 6 and g["cached_decode_max_err"] < 1e-4  # TL's KV cache vs HF
    for name in ("greedy", "sampled"):
        assert g[name]["tl"] == g[name]["hf"], name
        assert len(g[name]["tl"]) == g["prompt_tokens"] + 12
    st = g["steered"]
    assert st["differs"] and st["first_new_same"]  # steering starts at the first generated position
    assert st["kl_first"] < 1e-6 and st["kl_later_max"] > 0.1


def test_every_page_renders_the_reduced_gemma(probe):
    a = probe["sections"]["app"]
    assert a["model"] == "gemma-2-reduced-test" and a["sae"] == "layer_1/width_16k/canonical"
    for view, v in a["views"].items():
        assert v["exceptions"] == [] and v["errors"] == [] and v["warnings"] == [], (view, v)
        if view != "first":
            assert v["charts"] >= 1 and v["titles"], view


def test_qk_split_is_exact_with_rotary_gqa_softcap_and_window(probe):
    """Every visible cell of every head (two queries, all layers): the parts sum to TL's rotated q.k / scale, and
    the soft-capped value is TL's hook_attn_scores; the recomputed row's softmax is the trace's pattern. Keys outside
    a local layer's window are refused with a sentence, not split."""
    h = probe["sections"]["head_detail"]
    assert h["qk_cells"] >= 300 and h["qk_raw_err"] < 1e-4 and h["qk_capped_err"] < 1e-4 and h["qk_pattern_err"] < 1e-5
    assert h["attn_scale"] == pytest.approx(48 ** 0.5)  # query_pre_attn_scalar, not d_head
    by_layer = {q["layer"]: q for q in h["qk"]}
    assert by_layer[0]["source"].startswith("embeddings") and by_layer[0]["q_groups"] == ["rest", "token embedding"]
    assert by_layer[1]["source"].startswith("SAE layer_0/width_16k/canonical (reads blocks.0.hook_resid_post")
    assert any(abs(q["raw"] - q["capped"]) > 0.05 for q in h["qk"])  # the cap acts on the checked cells
    assert all(q["norm"] == "RMSNorm" and any("rotation" in n for n in q["notes"]) for q in h["qk"])
    assert "local layer" in h["outside_window"] and "Pick a key from 22 to 27" in h["outside_window"]
    windows = [layer["window"] for layer in h["layers"]]
    assert windows == [6, 0, 6, 0] and all(layer["n_kv_heads"] == 2 for layer in h["layers"])


def test_direct_logit_attribution_matches_hf_after_the_cap(probe):
    """Shares through the frozen final RMSNorm add up to the pre-cap logit (nothing left unattributed), and
    cap * tanh(logit / cap) is Hugging Face's logit; each head's share through ln1_post is TL's hook_z W_O times
    ln1_post's own scale, heads + b_O are hook_attn_out and the MLP rows are hook_mlp_out."""
    h = probe["sections"]["head_detail"]
    assert len(h["dla"]) >= 4
    for d in h["dla"]:
        assert "rest" not in d["kinds"] and d["n_heads"] == 16 and d["norm"] == "RMSNorm", d
        assert abs(d["residual"]) < 1e-6 and d["capped_err"] < 1e-4, d
    assert max(d["pre_cap_abs"] for d in h["dla"]) > 40  # past the logit cap of 30: the cap matters here
    for layer in h["layers"]:
        assert layer["head_share_err"] < 1e-4 and layer["attn_out_err"] < 1e-4 and layer["mlp_err"] < 1e-4, layer


def test_value_weighted_and_anatomy_on_gemma(probe):
    """Value-weighted norms are what reaches the residual through ln1_post (from TL's hook_v, pattern and scale);
    the anatomy's soft-capped column is TL's score and its softmax the trace's row; local layers show 6 keys."""
    for layer in probe["sections"]["head_detail"]["layers"]:
        assert layer["value_weighted_err"] < 1e-4 * max(1.0, layer["value_weighted_max"]), layer
        an = layer["anatomy"]
        assert an["pattern_error"] < 1e-5 and an["capped_err"] < 1e-4 and "soft-capped" in an["columns"], layer
        assert an["visible"] == (6 if layer["window"] else probe["sections"]["head_detail"]["n_pos"]), layer


def test_head_views_render_for_gemma_instead_of_refusing(probe):
    """The attention, residual and compare pages show the head views for Gemma (they used to say GPT-2 only)."""
    views = probe["sections"]["app"]["views"]
    infos = [i for v in views.values() for i in v["infos"]]
    assert not [i for i in infos if "GPT-2-style" in i or "needs the final LayerNorm" in i], infos
    metrics = {m for v in views.values() for m in v["metrics"]}
    assert "Logit before the soft-cap" in metrics and "Score q·k/√d_head (before the cap)" in metrics, metrics
