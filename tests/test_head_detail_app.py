"""AppTest: the QK split (compare page), value-weighted mode and head anatomy (attention page) and direct logit
attribution (residual page), on the attention-only model's induction head, without a new forward pass."""
import json

from tests.test_app import assert_clean, new_app

REPEATED = ("The old man gave the young girl a red apple and a silver coin. "
            "The old man gave the young girl a red apple and a silver coin.")


def _metrics(at) -> dict:
    return {m.label: m.value for m in at.metric}


def test_head_views_on_the_induction_head():
    from components import cached

    # value-weighted mode, the anatomy of the second ' red' and the QK cell from the link: fewer reruns
    at = new_app(model="tiny-induction", prompt=REPEATED, sae="blocks.1.hook_resid_post", attn_layer="1", attn_head="1",
                 attn_mode="sent", attn_anatomy="true", anat_query="26", qk_query="26", compare_view="qk")
    assert_clean(at)
    backend = cached.load_backend("tiny-induction")
    at.switch_page("views/compare.py").run()  # first visit: the QK view (from the link)
    before = backend.forward_passes

    at.switch_page("views/attention.py").run()
    assert_clean(at)
    spec = json.loads(at.get("vega_lite_chart")[0].proto.spec)
    assert spec["title"].startswith("L1H1 · what each key sends")
    # the caption's BOS figures are this head's: weight 0.60 on BOS, which sends 0.31x the median key (measured)
    assert any("In L1H1: mean weight on BOS 0.60; BOS sends ‖v W_O‖ = 5.42, 0.31×" in c.value for c in at.caption)
    steps = next(d.value for d in at.dataframe if "trace's weight" in d.value.columns)  # head anatomy
    assert steps["softmax"].idxmax() == 10  # ' app', the token after the first ' red'
    assert (steps["softmax"] - steps["trace's weight"]).abs().max() < 1e-5

    at.switch_page("views/compare.py").run()
    assert_clean(at)
    assert at.selectbox(key="qk_query").value == 26
    assert at.selectbox(key="qk_key").value == 10  # defaults to where the head looks most
    m = _metrics(at)
    assert abs(float(m["Pre-softmax score q·k/√d_head"]) - float(m["Sum of all parts"])) < 1e-3
    assert any("SAE blocks.0.hook_resid_post" in md.value and "resid_pre of layer 1" in md.value for md in at.markdown)
    pairs = next(d.value for d in at.dataframe if "query label" in d.value.columns)
    assert len(pairs) == 10 and pairs["query part"].str.startswith("feature").all()
    at.selectbox(key="qk_other").set_value(9).run()  # why ' app' rather than ' red'
    assert_clean(at)
    assert any("rather than" in md.value for md in at.markdown)
    at.selectbox(key="attn_layer").set_value(0).run()  # layer 0 reads the embeddings
    assert_clean(at)
    assert any("embeddings" in md.value for md in at.markdown)

    at.switch_page("views/residual_stream.py").run()
    at.selectbox(key="dla_pos").set_value(25).run()  # after the second ' a': the induction answer is ' red'
    assert_clean(at)
    m = _metrics(at)
    assert abs(float(m["Logit"]) - float(m["Sum of the parts"])) < 1e-3
    assert backend.forward_passes == before  # everything above read the cached trace
