"""AppTest (real Streamlit, real embedded model): every view renders, widgets act, bad input is contained."""
import json

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

VIEWS = ["views/attention.py", "views/residual_stream.py", "views/sae_features.py", "views/compare.py"]


def new_app(**query) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


def charts(at):
    return [json.loads(el.proto.spec) for el in at.get("vega_lite_chart")]


def chart_tables(at, i=0):
    import pyarrow as pa

    return [pa.ipc.open_stream(d.data.data).read_all().to_pandas() for d in at.get("vega_lite_chart")[i].proto.datasets]


def assert_clean(at):
    assert not at.exception, [e.value for e in at.exception]


@pytest.mark.parametrize("view", VIEWS)
def test_every_view_renders_on_the_embedded_default(view):
    at = new_app()
    at.switch_page(view).run()
    assert_clean(at)
    assert at.title and charts(at), f"{view} drew no chart"
    assert at.query_params["model"] == "tiny-austen-bible"


@pytest.mark.parametrize("view", VIEWS)
def test_every_view_works_on_the_attention_only_model(view):
    """tiny-induction: zero MLPs, two heads per layer, its own two SAEs."""
    at = new_app(model="tiny-induction", sae="blocks.1.hook_resid_post")
    at.switch_page(view).run()
    assert_clean(at)
    assert not at.error, [e.value for e in at.error]
    assert charts(at)


def test_attention_head_pickers_change_the_chart():
    at = new_app()
    assert charts(at)[0]["title"].startswith("L0H0 ")
    at.selectbox(key="attn_layer").set_value(2).run()
    at.selectbox(key="attn_head").set_value(3).run()
    assert_clean(at)
    assert charts(at)[0]["title"].startswith("L2H3 ")


def test_prompt_from_the_url_and_run_button():
    at = new_app(prompt="In the beginning God created")
    assert at.text_area(key="prompt_box").value == "In the beginning God created"
    at.text_area(key="prompt_box").input("Emma smiled.")
    at.button(key="run").click().run()
    assert_clean(at)
    assert at.query_params["prompt"] == "Emma smiled."
    assert "Emma" in at.dataframe[0].value.to_string() or charts(at)


def test_empty_prompt_shows_a_sentence_and_keeps_the_view():
    at = new_app(prompt="Mr. Darcy bowed.")
    at.text_area(key="prompt_box").input("   ")
    at.button(key="run").click().run()
    assert_clean(at)
    assert any("prompt is empty" in e.value for e in at.error)
    assert at.query_params["prompt"] == "Mr. Darcy bowed."
    assert charts(at)  # the previous view is still drawn


@pytest.mark.parametrize("param, bad, message, fallback", [
    ("model", "no-such-model", "Unknown model", "tiny-austen-bible"),
    ("sae", "blocks.99.hook_resid_post", "Unknown SAE", "blocks.2.hook_resid_post"),
])
def test_unknown_name_in_url_is_named_and_replaced(param, bad, message, fallback):
    at = new_app(**{param: bad})
    assert_clean(at)
    assert any(message in w.value for w in at.warning)
    assert at.query_params[param] == fallback


def test_page_switch_runs_no_forward_pass():
    from components import cached
    from interp.registry import DEFAULT_MODEL

    at = new_app(prompt="A page switch must not run the model again.")
    backend = cached.load_backend(DEFAULT_MODEL)
    before = backend.forward_passes
    at.switch_page("views/residual_stream.py").run()  # reads the attention view's cached trace
    assert_clean(at)
    assert backend.forward_passes == before
    at.switch_page("views/sae_features.py").run()  # first visit: the visible view (features per token)
    at.switch_page("views/compare.py").run()  # first visit: the feature split runs its own hooked pass
    warm = backend.forward_passes
    for view in VIEWS + VIEWS:
        at.switch_page(view).run()
        assert_clean(at)
    assert backend.forward_passes == warm


def test_sae_picker_changes_the_sae_view():
    at = new_app()
    at.switch_page("views/sae_features.py").run()
    at.selectbox(key="sae_box").set_value("blocks.0.hook_resid_post").run()
    assert_clean(at)
    assert at.query_params["sae"] == "blocks.0.hook_resid_post"
    assert at.metric[0].value == "L0 resid_post"  # short enough for a metric; the full id is in its help
    assert "blocks.0.hook_resid_post" in at.metric[0].help


def test_residual_toggles_and_csv():
    at = new_app()
    at.switch_page("views/residual_stream.py").run()
    spec = charts(at)[0]
    at.toggle(key="resid_per_pos").set_value(True).run()

    def tokens_plotted():
        return set().union(*(set(t["token"]) for t in chart_tables(at) if "token" in t))

    assert "0:<|endoftext|>" not in tokens_plotted()  # BOS excluded by default
    at.toggle(key="resid_log").set_value(True).run()
    at.toggle(key="resid_bos").set_value(True).run()
    assert_clean(at)
    layers = charts(at)[0]["layer"]
    assert any(l.get("encoding", {}).get("y", {}).get("scale", {}).get("type") == "log" for l in layers)
    assert "0:<|endoftext|>" in tokens_plotted()
    labels = [b.proto.label for b in at.get("download_button")]
    # per-position norms (the chart may show means); every chart's own numbers are in its Export menu
    assert "Download the norms at every position (CSV)" in labels
    assert labels.count("Numbers (CSV)") == len(charts(at))
    assert spec


@pytest.mark.parametrize("prompt", [
    "Émilie 🙂 said 你好 and שלום\u200b\u200d!",  # emoji, CJK, right-to-left, zero-width characters
    "<script>alert(1)</script><b>bold</b> & friends",
    "x" * 20_000,  # far past the context: truncated with a notice
])
def test_odd_prompts_render_everywhere(prompt):
    at = new_app()
    at.text_area(key="prompt_box").input(prompt)
    at.button(key="run").click().run()
    for view in VIEWS:
        at.switch_page(view).run()
        assert_clean(at)
        assert charts(at)
    if len(prompt) > 1000:
        assert any("only the first" in i.value for i in at.info)


LABEL_464 = ' God / \\n /  the'  # assets/tiny-austen-bible/saes/blocks.2.hook_resid_post/labels.json


def test_steering_slider_changes_the_generated_text():
    at = new_app(prompt="She walked into the room and", sae_view="steering")
    at.switch_page("views/sae_features.py").run()
    texts = lambda: [t.value for t in at.text]  # noqa: E731 - base and steered continuations
    base, steered = texts()
    assert base == steered  # nothing steered yet: same seed, same text
    at.number_input(key="steer_f0").set_value(464).run()
    at.slider(key="steer_a0").set_value(2.0).run()
    assert_clean(at)
    base2, steered2 = texts()
    assert base2 == base and steered2 != base
    assert any("alpha = 7.18" in c.value for c in at.caption)  # 2 x the feature's max activation (3.592)
    assert any(c.value == f"label: `{LABEL_464}`" for c in at.caption)  # the steered feature's label under its number
