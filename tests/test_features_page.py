"""AppTest of the Features page (real Streamlit, real embedded model): search opens a feature, a lineage link
opens the linked feature in place, all layers at a token, deep links, and the link from the SAE features page."""
import pytest

from interp import hooks
from interp.dashboards import search
from interp.dashboards.store import FILE, Dashboard
from interp.registry import DEFAULT_MODEL, REGISTRY
from tests.test_app import new_app

PAGE = "views/features.py"


def assert_clean(at):  # stricter than test_app's: no error message either
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def heading(at) -> str:
    return at.subheader[0].value


def html_text(at) -> str:
    return " ".join(el.proto.body for el in at.get("html"))


@pytest.fixture(scope="module")
def dashboards():
    return {s.id: Dashboard.load(s.path / FILE) for s in REGISTRY.get(DEFAULT_MODEL).saes}


def test_search_by_token_opens_a_feature_and_a_lineage_link_opens_in_place(dashboards):
    at = new_app()
    at.switch_page(PAGE).run()
    at.text_input(key="feat_q").input("God").run()
    assert_clean(at)
    best = search.by_token(dashboards, "God")[0]
    hit = at.button(key="feat_hit0")
    assert hit.label == f"{hooks.short(best['sae'])} #{best['feature']}"
    hit.click().run()
    assert_clean(at)
    assert heading(at) == f"{hooks.short(best['sae'])} · feature #{best['feature']}"
    d = dashboards[best["sae"]]
    assert d.label(best["feature"])["label"].replace("'", "&#x27;") in html_text(at)  # label, escaped
    assert "held-out text" in html_text(at)  # its agreement verdict beside it
    assert at.get("vega_lite_chart"), "no histogram"
    link = d.lineage(best["feature"])[0]
    at.button(key="feat_view_lin0").click().run()
    assert_clean(at)
    assert heading(at) == f"{hooks.short(link['sae'])} · feature #{link['feature']}"
    default_sae = "blocks.2.hook_resid_post"  # the URL carries only values that differ from the defaults
    assert at.query_params.get("feat_sae", default_sae) == link["sae"]
    assert at.query_params["feat_id"] == str(link["feature"])


def test_all_layers_side_by_side_and_a_deep_link():
    at = new_app(feat_pane="All layers", feat_tok="3")
    at.switch_page(PAGE).run()
    assert_clean(at)
    assert at.selectbox(key="feat_tok").value == 3
    ids = [s.id for s in REGISTRY.get(DEFAULT_MODEL).saes]
    for sid in ids:  # every SAE of the model has its column of top features at that token
        assert at.button(key=f"feat_all_{sid}_0")
    at.button(key=f"feat_all_{ids[-1]}_0").click().run()
    assert_clean(at)
    assert heading(at).startswith(f"{hooks.short(ids[-1])} · feature #")

    b = new_app(feat_pane="Feature", feat_sae="blocks.3.hook_resid_post", feat_id="12")
    b.switch_page(PAGE).run()
    assert_clean(b)
    assert heading(b) == "L3 resid_post · feature #12"
    c = new_app(feat_pane="Feature", feat_sae="blocks.0.hook_resid_post", feat_id="99999")
    c.switch_page(PAGE).run()
    assert not c.exception
    assert heading(c) == "L0 resid_post · feature #0" and any("feat_id=`99999`" in w.value for w in c.warning)


def test_sae_features_detail_links_open_the_features_page():
    at = new_app()
    at.switch_page("views/sae_features.py").run()
    at.segmented_control(key="sae_view").set_value("detail").run()  # the page draws one view at a time
    assert_clean(at)
    assert "held-out text" in html_text(at)
    label = at.button(key="sae_fv_sim0").label
    at.button(key="sae_fv_sim0").click().run()
    assert_clean(at)
    assert at.title[0].value == "Features"
    assert heading(at) == label.replace(" #", " · feature #")
