"""Demo-grade behaviour (issue #18): only the visible view computes, token selections follow the prompt."""
from tests.test_app import assert_clean, new_app

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
