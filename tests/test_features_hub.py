"""The Features page on the hub path (the cached tiny gpt2 with a res-jb-layout SAE, no network): what can be
computed locally (logits, similar features, activations on the prompt) and the Neuronpedia link."""
from tests.test_hub_path import _NO_NETWORK, MODEL, SAE_ID, hub, run_probe  # noqa: F401  (hub is a fixture)

_PROBE_FEATURES = _NO_NETWORK + r'''
from streamlit.testing.v1 import AppTest
MODEL, SAE_ID = sys.argv[1:3]
at = AppTest.from_file("app.py", default_timeout=120)
for k, v in {"model": MODEL, "sae": SAE_ID, "prompt": "Hello world. Hello world.", "feat_pane": "Feature",
             "feat_sae": SAE_ID, "feat_id": "3"}.items():
    at.query_params[k] = v
at.run()
at.switch_page("views/features.py").run()
out = {"exceptions": [e.value for e in at.exception], "errors": [e.value for e in at.error],
       "heading": [s.value for s in at.subheader], "links": [b.proto.url for b in at.get("link_button")],
       "tables": [list(d.value.columns) for d in at.dataframe],
       "similar": [b.label for b in at.button if b.key and "_sim" in b.key], "html": len(at.get("html"))}
emit(out)
'''


def test_hub_feature_view_computes_what_it_can_locally(hub):  # noqa: F811
    out = run_probe(_PROBE_FEATURES, hub, MODEL, SAE_ID)
    assert out["network_attempts"] == []
    assert out["exceptions"] == [] and out["errors"] == [], out
    assert out["heading"] == ["L0 resid_pre · feature #3"]
    assert out["links"] == ["https://www.neuronpedia.org/gpt2-small/0-res-jb/3"]
    assert ["promoted token", "W_dec·W_U"] in out["tables"] and ["suppressed token", "W_dec·W_U"] in out["tables"]
    assert len(out["similar"]) == 5 and all(s.startswith("L0 resid_pre #") for s in out["similar"])
    assert out["html"] >= 1  # the prompt's tokens, highlighted
