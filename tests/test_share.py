"""Compare page, shareable URLs, run records and examples (AppTest, real Streamlit, real embedded model)."""
import json

import pytest

from interp.run_record import FORMAT, parse
from tests.test_app import assert_clean, charts, new_app


def record_of(at) -> dict:
    return json.loads(at.code[-1].value)


def test_compare_page_links_a_feature_to_heads():
    at = new_app(prompt="In the beginning, God created the heavens and the earth. And God said, Let there be light")
    at.switch_page("views/compare.py").run()
    assert_clean(at)
    pre, total, _ = (m.value for m in at.metric[:3])  # the feature-split tab's (the QK tab adds its own after)
    assert float(pre) == pytest.approx(float(total), abs=1e-4)  # the parts add up, as shown to the user
    titles = [c.get("title") for c in charts(at)]
    assert any("parts by component" in str(t) for t in titles), titles
    assert any("where it reads from" in str(t) for t in titles), titles
    ranked = at.dataframe[0].value
    assert list(ranked.columns) == ["component", "contribution"]
    assert list(ranked["contribution"].abs()) == sorted(ranked["contribution"].abs(), reverse=True)
    # open the head with the largest share on the Attention page: the same layer/head is shown there
    layer, head = (int(x) for x in ranked["component"][0][1:].split("H"))
    at.selectbox(key="attn_layer").set_value(layer)
    at.selectbox(key="attn_head").set_value(head).run()
    at.button(key="cmp_open_attention").click().run()
    assert_clean(at)
    assert at.title[0].value == "Attention patterns"
    assert charts(at)[0]["title"].startswith(f"L{layer}H{head} ")


def test_url_round_trip_restores_the_view_and_survives_page_switches():
    at = new_app()
    at.switch_page("views/compare.py").run()
    at.selectbox(key="attn_layer").set_value(1)
    at.selectbox(key="attn_head").set_value(2)
    at.selectbox(key="sae_token").set_value(4)
    at.number_input(key="sae_feature").set_value(100).run()
    at.segmented_control(key="compare_view").set_value("two").run()  # the compare page's view, kept in the link
    at.text_area(key="prompt2").input("Elizabeth looked at Mr. Bingley").run()
    assert_clean(at)
    shared = dict(at.query_params)
    assert {"attn_layer": "1", "attn_head": "2", "sae_token": "4", "sae_feature": "100",
            "compare_view": "two"}.items() <= shared.items()
    at.switch_page("views/attention.py").run()  # other pages keep the settings (and the URL)
    assert (at.selectbox(key="attn_layer").value, at.selectbox(key="attn_head").value) == (1, 2)
    assert charts(at)[0]["title"].startswith("L1H2 ")
    at.switch_page("views/sae_features.py").run()
    at.get("button_group")[0].set_value("steering").run()  # the SAE page's view picker
    at.slider(key="steer_a0").set_value(1.5).run()
    assert at.query_params["steer_a0"] == "1.5" and at.query_params["sae_feature"] == "100"

    b = new_app(**shared)  # a second user opens the shared link
    b.switch_page("views/compare.py").run()
    assert_clean(b)
    assert not b.warning, [w.value for w in b.warning]
    assert (b.selectbox(key="attn_layer").value, b.selectbox(key="attn_head").value) == (1, 2)
    assert b.selectbox(key="sae_token").value == 4 and b.number_input(key="sae_feature").value == 100
    assert b.text_area(key="prompt2").value == "Elizabeth looked at Mr. Bingley"
    assert dict(b.query_params) == shared


def test_link_values_that_do_not_fit_fall_back_with_a_message():
    at = new_app(attn_layer="9", attn_head="x")
    assert_clean(at)
    messages = " ".join(w.value for w in at.warning)
    assert "attn_head in the link" in messages and "`'x'`" in messages and "attn_layer=`9` from the link" in messages
    assert (at.selectbox(key="attn_layer").value, at.selectbox(key="attn_head").value) == (0, 0)


def test_run_record_export_import_round_trip():
    at = new_app(prompt="She walked into the room and")
    at.switch_page("views/sae_features.py").run()
    at.get("button_group")[0].set_value("steering").run()  # the SAE page's view picker
    at.number_input(key="steer_f0").set_value(464)
    at.slider(key="steer_a0").set_value(1.5).run()
    assert_clean(at)
    record = record_of(at)
    assert record["format"] == FORMAT and record["page"] == "sae-features"
    assert record["steering"][0]["feature"] == 464 and record["seed"] == 0
    out = record["outputs"]
    assert out["base_continuation"] != out["steered_continuation"]  # the steer does something

    b = new_app()  # a fresh session on the default view loads the file
    b.get("file_uploader")[0].set_value(("run.json", json.dumps(record).encode(), "application/json"))
    b.run()
    b.run()  # the page switch requested by the loader
    assert_clean(b)
    assert b.title[0].value == "SAE features"
    assert b.text_area(key="prompt_box").value == "She walked into the room and"
    again = record_of(b)
    assert again["steering"] == record["steering"] and again["view"] == record["view"]
    assert again["outputs"] == record["outputs"]  # same run, same numbers and text


def test_a_bad_run_record_is_refused_and_the_view_kept():
    at = new_app(prompt="Emma smiled.")
    for payload, words in ((b"not json", "not valid JSON"),
                           (json.dumps({"format": FORMAT, "version": 1, "model": "/etc/passwd", "prompt": "x"}).encode(),
                            "not one this app offers")):
        at.get("file_uploader")[0].set_value(("bad.json", payload, "application/json"))
        at.run()
        assert_clean(at)
        assert any(words in e.value for e in at.error), [e.value for e in at.error]
        assert at.text_area(key="prompt_box").value == "Emma smiled."


def test_parse_rejects_malformed_steering_and_unknown_settings():
    good = {"format": FORMAT, "version": 1, "model": "tiny-austen-bible", "prompt": "Hi", "sae": None,
            "page": "attention", "view": {"attn_layer": 2, "nonsense": 1}, "steering": []}
    rec = parse(json.dumps(good), {"attn_layer": int})
    assert rec.view == {"attn_layer": 2} and rec.notes
    bad = dict(good, steering=[{"sae": "blocks.2.hook_resid_post", "feature": 1, "alpha": float("inf")}])
    with pytest.raises(Exception, match="finite"):
        parse(json.dumps(bad), {})


@pytest.mark.parametrize("index", range(6))
def test_examples_open_with_one_click(index):
    from components.examples import EXAMPLES

    ex = EXAMPLES[index]
    at = new_app()
    at.button(key=f"example_{index}").click().run()
    at.run()
    assert_clean(at)
    assert not at.error, [e.value for e in at.error]
    assert at.text_area(key="prompt_box").value == ex.state["prompt"]
    for key, value in ex.state["view"].items():
        assert at.query_params[key] == str(value)


def test_two_prompt_diff_is_zero_for_the_same_prompt_and_not_for_an_edit():
    a_prompt, b_prompt = "Then Elizabeth said to her, Go in peace.", "Then Jesus said to her, Go in peace."
    at = new_app(prompt=a_prompt, compare_view="two")
    at.switch_page("views/compare.py").run()
    at.text_area(key="prompt2").input(a_prompt).run()
    assert_clean(at)
    same = chart_tables_by_title(at)
    assert same["How much each head's attention moved"]["mean_abs_change"].abs().max() == 0
    assert at.dataframe[-1].value.empty or at.dataframe[-1].value["difference"].abs().max() == 0
    at.text_area(key="prompt2").input(b_prompt).run()
    assert_clean(at)
    moved = chart_tables_by_title(at)["How much each head's attention moved"]
    assert moved["mean_abs_change"].max() > 0.01  # one name changed: some head moves
    diff = at.dataframe[-1].value
    assert len(diff) and diff["difference"].abs().max() > 0.1
    assert list(diff["difference"].abs()) == sorted(diff["difference"].abs(), reverse=True)


def chart_tables_by_title(at) -> dict:
    """{title prefix: DataFrame} for every chart on screen."""
    import pyarrow as pa

    out = {}
    for el in at.get("vega_lite_chart"):
        spec = json.loads(el.proto.spec)
        title = spec.get("title", "")
        title = title if isinstance(title, str) else title.get("text", "")
        tables = [pa.ipc.open_stream(d.data.data).read_all().to_pandas() for d in el.proto.datasets]
        if tables:
            out[title.split(" (")[0]] = tables[0]
    return out


def test_every_chart_exports_csv_png_and_svg():
    import altair as alt

    from components.charts_ui import chart_data, chart_image

    at = new_app()
    at.switch_page("views/compare.py").run()
    labels = [b.proto.label for b in at.get("download_button")]
    n_charts = len(at.get("vega_lite_chart"))
    assert labels.count("Image (PNG)") == labels.count("Image (SVG)") == n_charts > 0
    assert labels.count("Numbers (CSV)") == n_charts
    chart = alt.Chart(chart_data_frame()).mark_bar().encode(x="component:N", y="contribution:Q")
    png, svg = chart_image(chart, "png"), chart_image(chart, "svg")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000
    assert svg.lstrip().startswith(b"<svg") and b"contribution" in svg
    assert chart_data(chart.properties(title="t") + chart) is not None  # layered charts export their data too


def chart_data_frame():
    import pandas as pd

    return pd.DataFrame({"component": ["L0H1", "L1 MLP"], "contribution": [0.3, -0.1]})
