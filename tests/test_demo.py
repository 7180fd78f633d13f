"""Demo-grade behaviour (issue #18): only the visible view computes, token selections follow the prompt."""
from tests.test_app import assert_clean, chart_tables, new_app

LONGER = "Elizabeth looked at Mr. Darcy and smiled, and he smiled back at her."


def _counters(monkeypatch):
    """Count the SAE page's expensive computations (the cached wrappers import these at call time)."""
    from interp import generation, sae_tools

    calls = {"splice": 0, "generate": 0}
    for module, name, key in ((sae_tools, "splice_metrics", "splice"), (generation, "generate", "generate")):
        real = getattr(module, name)

        def counted(*a, _real=real, _key=key, **k):
            calls[_key] += 1
            return _real(*a, **k)
        monkeypatch.setattr(module, name, counted)
    return calls


def test_sae_page_after_run_computes_only_the_visible_view(monkeypatch):
    from components import cached
    from interp.registry import DEFAULT_MODEL

    at = new_app(prompt="Mr. Darcy bowed.")
    at.switch_page("views/sae_features.py").run()
    backend = cached.load_backend(DEFAULT_MODEL)
    calls, before = _counters(monkeypatch), backend.forward_passes
    at.text_area(key="prompt_box").input("The visible view only: " + LONGER)
    at.button(key="run").click().run()
    assert_clean(at)
    assert backend.forward_passes - before == 1  # the trace; no splice, no generation for hidden views
    assert calls == {"splice": 0, "generate": 0}
    assert at.get("button_group")[0].options[0] == "Features per token"
    at.session_state["sae_view"] = "health"  # opening a view computes it then
    at.run()
    assert_clean(at)
    assert calls == {"splice": 1, "generate": 0} and backend.forward_passes - before > 1
    at.session_state["sae_view"] = "steering"
    at.run()
    assert_clean(at)
    at.get("button_group")[0].set_value(None).run()  # clicking the selected view again keeps it
    assert at.get("button_group")[0].value == "steering" and at.text
    assert calls["splice"] == 1 and calls["generate"] == 1  # nothing steered yet: base and steered are one request


def test_a_new_prompt_selects_its_last_token_unless_the_link_names_one():
    at = new_app(prompt="Mr. Darcy bowed.", sae_token="2")
    at.switch_page("views/sae_features.py").run()
    assert at.session_state["sae_token"] == 2  # the link's token fits its prompt: kept
    at.text_area(key="prompt_box").input(LONGER)
    at.button(key="run").click().run()
    assert_clean(at)
    n_pos = len(at.get("button_group")[1].options) + 1  # the token pills (BOS excluded)
    assert n_pos > 10 and at.session_state["sae_token"] == n_pos - 1  # not the stale position 2
    assert "sae_token" not in at.query_params  # the default (last token) is not written into the link
    at.get("button_group")[1].set_value(3).run()  # a pick on this prompt is kept across pages
    at.switch_page("views/compare.py").run()
    assert at.selectbox(key="sae_token").value == 3
    at.text_area(key="prompt_box").input("Mr. Darcy bowed to Elizabeth.")
    at.button(key="run").click().run()
    assert_clean(at)
    assert at.selectbox(key="sae_token").value == len(at.selectbox(key="sae_token").options)  # last token


def test_byte_pieces_and_invisible_characters_display_readably(backend):
    from interp.charts.common import readable, token_label

    pieces = backend.str_tokens(backend.model.to_tokens("🙂", prepend_bos=False)[0])
    assert any("\ufffd" in p for p in pieces)  # the emoji is split into byte pieces by the BPE
    assert all("\ufffd" not in readable(p) for p in pieces) and "⟨byte⟩" in "".join(map(readable, pieces))
    assert token_label(2, " a\u200bb\x0c") == "2:␣a\\u200bb\\u000c"
    assert readable("Émilie 你好") == "Émilie 你好"  # whole characters stay as they are


def test_two_prompt_diff_is_labelled_by_token_and_says_where_tokens_differ():
    from interp.charts.compare import attention_diff_frame, attention_diff_heatmap, first_difference
    from tests.factories import build_trace

    a = build_trace(tokens=("<|endoftext|>", "A", " b", " A"))
    b = build_trace(tokens=("<|endoftext|>", "A", " c", " A", " b"))
    df = attention_diff_frame(a, b, 0, 0)
    assert set(df["key"]) == {"0:<|endoftext|>", "1:A", "2:␣b | ␣c", "3:␣A"}
    spec = attention_diff_heatmap(df, "t").to_dict()
    assert spec["encoding"]["x"]["field"] == "key" and spec["encoding"]["y"]["field"] == "query"
    assert first_difference(a.str_tokens, b.str_tokens) == 2 and first_difference(("x", "y"), ("x",)) is None


def test_always_on_features_are_the_dense_ones():
    from interp.charts.sae import always_on

    labels = {"5": {"freq": 0.94}, "6": {"freq": 0.2}, "7": {"freq": 0.75}}
    assert always_on(labels) == {5: 0.94, 7: 0.75}
    assert always_on({}) == {}


def test_sae_page_hides_always_on_features_by_default_and_says_so():
    at = new_app(prompt="Elizabeth looked at Mr. Darcy and smiled")
    at.switch_page("views/sae_features.py").run()
    assert_clean(at)
    shown = set(at.dataframe[0].value["feature"])
    assert not shown & {506, 561, 600, 427}  # blocks.2's always-on features (80-94 % of held-out tokens)
    assert any("always-on features 506 (94% of tokens)" in c.value for c in at.caption)
    at.toggle(key="sae_hide_always_on").set_value(False).run()
    assert {506, 561, 600, 427} & set(at.dataframe[0].value["feature"])


def test_small_untruths_are_gone_on_the_residual_and_compare_pages():
    at = new_app(model="tiny-induction", sae="blocks.1.hook_resid_post")
    at.switch_page("views/compare.py").run()
    assert_clean(at)
    parts = chart_tables(at, 0)[0]  # the feature's parts by component
    assert not parts["component"].str.contains("MLP").any()  # zero-weight MLPs are not listed at zero
    assert any("MLPs write nothing" in c.value for c in at.caption)
    at.switch_page("views/residual_stream.py").run()
    assert_clean(at)
    assert any("tied embeddings" in c.value for c in at.caption)  # layer-0 lens predicting the input, explained
