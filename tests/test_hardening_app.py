"""Issue #13 in the app itself (AppTest, real Streamlit, the real embedded models): each failure of the
adversarial run, reached the way a user or a link reaches it, gives a message and keeps the page."""
import json
import shutil
from dataclasses import replace

import pytest

from interp import boundary
from interp.registry import DEFAULT_MODEL, REGISTRY
from interp.run_record import FORMAT
from tests.test_app import assert_clean, new_app

SAE_PAGE = "views/sae_features.py"
MD_LINK = "[Click to re-login](https://evil.example)"


def messages(at) -> list[str]:
    return [m.value for m in (*at.warning, *at.error, *at.info)]


def steering_tab(**query):
    at = new_app(**{"sae_view": "steering", **query})  # the SAE page draws one view: a steering link opens Steering
    first = messages(at)  # what the link's reading said (shown on the first run)
    at.switch_page(SAE_PAGE).run()
    assert_clean(at)
    at.first_messages = first
    return at


def test_steering_feature_past_the_sae_from_a_link_is_said_and_replaced():
    """Failure 1: ?steer_f0=5000 (the SAE has 768 latents) used to raise IndexError on the SAE page."""
    at = steering_tab(steer_f0="5000", steer_a0="1.5")
    warned = [m for m in messages(at) if "Feature 5000 does not exist" in m]
    assert warned and "from the link" in warned[0], messages(at)
    f0 = at.number_input(key="steer_f0")
    assert f0.value < 768 and f0.max == 767


def test_huge_steering_feature_in_a_link_is_said():
    at = steering_tab(steer_f0="100000000000000000000")
    assert any("Steering feature 1 must be a whole number" in m for m in at.first_messages), at.first_messages


def test_typing_a_feature_past_the_sae_is_bounded():
    """Typing 5000 in "Feature 1" used to reach the SAE (IndexError). The box now has max d_sae - 1: the browser
    refuses 5000 and keeps the old value; Streamlit's server resets an out-of-range value to the box's
    minimum (what AppTest shows). Either way the page draws, with the steering section intact."""
    at = steering_tab(steer_f0="12")
    assert at.number_input(key="steer_f0").max == 767
    at.number_input(key="steer_f0").set_value(5000).run()
    assert_clean(at)
    assert 0 <= at.number_input(key="steer_f0").value < 768
    assert not at.error, [e.value for e in at.error]


def test_switching_to_a_narrower_sae_keeps_the_steering_page():
    """The ordinary path: feature 427 picked on the 768-latent SAE, then the model switched to tiny-induction
    (384 latents), then Run."""
    at = steering_tab(steer_f0="427")
    assert at.number_input(key="steer_f0").value == 427
    at.selectbox(key="model_box").set_value("tiny-induction")
    at.button(key="run").click().run()
    assert_clean(at)
    assert any("Feature 427 does not exist" in m and "384 latents" in m for m in messages(at)), messages(at)
    assert at.number_input(key="steer_f0").value < 384


def test_strength_from_a_link_outside_the_range_is_said():
    at = steering_tab(steer_a0="50")
    assert any("between -10 and 10" in m for m in at.first_messages), at.first_messages
    at = steering_tab(steer_a0="NaN")
    assert any("finite" in m for m in at.first_messages), at.first_messages


def test_link_values_are_not_markdown_in_warnings():
    """Failure 5: the model and SAE names from a link appear escaped, never as a live link or image."""
    at = new_app(model=MD_LINK, sae="![t](http://host/track.png)")
    assert_clean(at)
    said = messages(at)
    assert any("Unknown model" in m for m in said) and any("Unknown SAE" in m for m in said), said
    for m in said:  # the link's text is inside a code span (no Markdown there)
        assert "](" not in m.replace("`'[Click to re-login](https://evil.example)'`", "").replace(
            "`'![t](http://host/track.png)'`", ""), m


def test_from_the_link_is_said_only_for_link_values():
    """A value kept from an earlier view (not from a link) that does not fit is not blamed on the link."""
    at = new_app(prompt="Elizabeth looked at Mr. Darcy and smiled warmly at him today")
    at.switch_page("views/compare.py").run()
    at.selectbox(key="sae_token").set_value(10).run()
    at.switch_page("views/attention.py").run()  # the token box is not drawn here: only the kept value survives
    at.text_area(key="prompt_box").input("Emma smiled.")
    at.button(key="run").click().run()
    at.switch_page("views/compare.py").run()
    assert_clean(at)
    assert at.selectbox(key="sae_token").value == at.selectbox(key="sae_token").options.__len__()
    assert not [m for m in messages(at) if "from the link" in m], messages(at)


@pytest.mark.parametrize("name, payload, words", [
    ("model list", {"model": ["tiny-austen-bible"]}, "not one this app offers"),
    ("view list", {"view": [1]}, "'view' must be an object"),
    ("feature abc", {"steering": [{"sae": "blocks.1.hook_resid_post", "feature": "abc"}]}, "whole number"),
    ("other model's width", {"model": "tiny-induction",
                             "steering": [{"sae": "blocks.1.hook_resid_post", "feature": 427}]}, "384 latents"),
])
def test_malformed_run_records_in_the_uploader(name, payload, words):
    """Failure 2 (and 1 through a record): the uploader shows one sentence and the page stays."""
    at = new_app(prompt="Emma smiled.")
    data = json.dumps({"format": FORMAT, "version": 1, "model": DEFAULT_MODEL, "prompt": "x", **payload})
    at.get("file_uploader")[0].set_value(("[evil](http://x).json", data.encode(), "application/json"))
    at.run()
    assert_clean(at)
    errors = [e.value for e in at.error]
    assert any(words in e for e in errors), errors
    assert all("](" not in e.replace("`'[evil](http://x).json'`", "") for e in errors), errors
    assert at.text_area(key="prompt_box").value == "Emma smiled."


def test_a_deeply_nested_record_in_the_uploader():
    at = new_app(prompt="Emma smiled.")
    at.get("file_uploader")[0].set_value(("deep.json", ("[" * 2000 + "]" * 2000).encode(), "application/json"))
    at.run()
    assert_clean(at)
    assert any("nest" in e.value for e in at.error), [e.value for e in at.error]


def test_a_long_prompt_is_not_written_into_the_link():
    """Failure 7: the URL says the prompt is too long instead of holding it; the run record carries it."""
    prompt = "Elizabeth smiled. " * 200  # 3,600 characters
    at = new_app()
    at.text_area(key="prompt_box").input(prompt)
    at.button(key="run").click().run()
    assert_clean(at)
    assert "prompt" not in at.query_params and at.query_params["prompt_chars"] == str(len(prompt))
    assert any("more than a link carries" in c.value for c in at.sidebar.caption)
    code = [c.value for c in at.code if '"format"' in c.value]
    assert code and json.loads(code[0])["prompt"] == prompt


def test_a_too_long_incoming_link_is_said():
    at = new_app(prompt="y" * (boundary.MAX_LINK_PROMPT_CHARS + 10))
    assert_clean(at)
    assert any("run record" in w.value and "characters" in w.value for w in at.warning), messages(at)
    assert at.text_area(key="prompt_box").value == REGISTRY.get(DEFAULT_MODEL).default_prompt


@pytest.fixture
def broken_assets(tmp_path):
    """The embedded model with copies of its SAEs: blocks.2's weights truncated, labels of blocks.1 corrupt.
    The registry entry points at the copies for the test; the backend is loaded afresh from it (real model)."""
    from components import cached

    spec = REGISTRY.get(DEFAULT_MODEL)
    saes = []
    for s in spec.saes:
        folder = tmp_path / s.id
        shutil.copytree(s.path, folder)
        saes.append(replace(s, path=folder))
    weights = tmp_path / "blocks.2.hook_resid_post" / "sae_weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    (tmp_path / "blocks.1.hook_resid_post" / "labels.json").write_text('{"0": {"label": "she", "max_')

    def clear():
        cached.load_backend.clear()
        cached.trace_cache.clear()
        cached._sae_labels.clear()

    clear()
    REGISTRY.models[DEFAULT_MODEL] = replace(spec, saes=tuple(saes))
    try:
        yield
    finally:
        REGISTRY.models[DEFAULT_MODEL] = spec
        clear()


def test_a_broken_sae_does_not_blank_attention_or_residual(broken_assets):
    """Failure 6: with blocks.2's weights truncated, Attention and Residual stream still draw (with the SAE's
    message); the SAE page says why it has nothing."""
    at = new_app(sae="blocks.2.hook_resid_post")
    for view in ("views/attention.py", "views/residual_stream.py"):
        at.switch_page(view).run()
        assert_clean(at)
        assert any("Could not load SAE" in e.value for e in at.error), [e.value for e in at.error]
        assert at.get("vega_lite_chart"), f"{view} drew nothing"
    at.switch_page(SAE_PAGE).run()
    assert_clean(at)
    assert any("No SAE is loaded" in i.value for i in at.info)


def test_corrupt_labels_degrade_to_no_labels(broken_assets):
    """Failure 3: a corrupt labels.json gives a warning and the SAE and compare pages still draw."""
    at = new_app(sae="blocks.1.hook_resid_post")
    for view in (SAE_PAGE, "views/compare.py"):
        at.switch_page(view).run()
        assert_clean(at)
        assert any("could not be read" in w.value for w in at.warning), messages(at)
        assert at.get("vega_lite_chart")


def _bertviz_docs(at) -> list[str]:
    return [el.proto.srcdoc for el in at.get("iframe")]


def test_bertviz_is_the_same_document_on_a_rerun():
    """Failure 4: the head view had a new random id every run, so each rerun (even changing the heatmap's BOS
    option) redrew it. Same view and data -> the same document, which the browser keeps."""
    at = new_app()
    first = _bertviz_docs(at)
    assert len(first) == 1 and all('sandbox="allow-scripts"' in d and "allow-same-origin" not in d for d in first)
    at.radio(key="attn_bos").set_value("hide").run()
    assert_clean(at)
    assert _bertviz_docs(at) == first


def test_bertviz_waits_to_be_asked_above_the_limit():
    from interp.charts.bertviz_view import DRAW_LIMIT_TOKENS

    prompt = "It is a truth universally acknowledged, that a single man must be in want of a wife. " * 6
    at = new_app(prompt=prompt)
    assert_clean(at)
    assert not _bertviz_docs(at)
    assert any(f"over {DRAW_LIMIT_TOKENS} positions" in i.value and "s to draw" in i.value for i in at.info)
    at.toggle(key="bertviz_draw_long").set_value(True).run()
    assert_clean(at)
    assert len(_bertviz_docs(at)) == 1  # the head view; the model view is drawn when it is chosen


def test_only_the_chosen_bertviz_view_is_built():
    """Compute only what is on screen: one bertviz document at a time, the model view when it is chosen (and
    the link keeps the choice)."""
    at = new_app()
    (head,) = _bertviz_docs(at)
    assert "#layer" in head  # the head view's layer dropdown; the model view has none
    at.segmented_control(key="attn_bertviz").set_value("model").run()
    assert_clean(at)
    (model,) = _bertviz_docs(at)
    assert "#layer" not in model and at.query_params["attn_bertviz"] in ("model", ["model"])
