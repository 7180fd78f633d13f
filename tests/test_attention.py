"""Attention chart builders on hand-made traces, and the attention view's controls in AppTest."""
import numpy as np
import pytest

from interp.charts.attention import attention_frame, attention_heatmap, color_cap, head_grid, head_scores_frame
from interp.analysis.heads import head_scores
from tests.factories import build_trace


def test_causal_upper_triangle_is_not_applicable_not_zero():
    t = build_trace()
    df = attention_frame(t, 0, 1)
    above = df[df.key_pos > df.query_pos]
    assert len(above) == 10 and above["weight"].isna().all()
    below = df[df.key_pos <= df.query_pos]
    np.testing.assert_allclose(below.groupby("query_pos")["weight"].sum(), 1.0, atol=1e-6)


def test_hide_bos_renormalises_rows_and_drops_bos():
    t = build_trace()
    df = attention_frame(t, 1, 0, bos="hide")
    assert 0 not in set(df.key_pos) and 0 not in set(df.query_pos)
    sums = df.dropna().groupby("query_pos")["weight"].sum()
    np.testing.assert_allclose(sums, 1.0, atol=1e-6)
    raw = t.attention[1, 0]
    q = 3
    expected = raw[q, 1:q + 1] / raw[q, 1:q + 1].sum()
    got = df[(df.query_pos == q) & (df.key_pos <= q)].sort_values("key_pos")["weight"].to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_colour_cap_and_window():
    t = build_trace()
    cap = color_cap(t, 0, 0)
    assert cap == pytest.approx(float(t.attention[0, 0, 1:, 1:].max()))
    spec = attention_heatmap(attention_frame(t, 0, 0), "x", color_max=cap).to_dict()
    cells = [l for l in spec["layer"] if "color" in l.get("encoding", {})][0]
    assert cells["encoding"]["color"]["scale"]["domain"] == [0, cap]
    df = attention_frame(t, 0, 0, window=(2, 4))
    assert sorted(set(df.query_pos)) == [2, 3] and sorted(set(df.key_pos)) == [2, 3]


def test_head_grid_has_every_head():
    t = build_trace(n_layers=3, n_heads=2)
    table = head_scores_frame(head_scores(t.attention, t.tokens))
    assert list(table["head"]) == ["L0H0", "L0H1", "L1H0", "L1H1", "L2H0", "L2H1"]
    spec = head_grid(table, "bos_sink").to_dict()
    assert spec["title"].startswith("BOS sink")


def test_attention_view_bos_modes_and_long_prompt():
    from tests.test_app import assert_clean, charts, new_app

    at = new_app(prompt="word " * 150)  # 151 positions: a window, not a frozen browser
    assert_clean(at)
    assert any("Long prompt" in i.value for i in at.info)
    at.radio(key="attn_bos").set_value("hide").run()
    assert_clean(at)
    assert "renormalised" in charts(at)[0]["title"]
    at.radio(key="attn_score").set_value("induction_probe").run()
    assert_clean(at)
    assert any(c.get("title", "").startswith("induction (probe)") for c in charts(at))
