import math

import pytest

from interp.errors import BadInput, LoadError
from interp.registry import REGISTRY, ModelSpec, Registry, SAESpec
from interp.requests import FeatureSteer, TraceRequest


@pytest.mark.parametrize("prompt", ["", "   ", "\n\t "])
def test_empty_prompt_is_refused_with_a_sentence(prompt):
    with pytest.raises(BadInput, match="prompt is empty"):
        TraceRequest("tiny-austen-bible", prompt)


def test_overlong_prompt_is_refused():
    with pytest.raises(BadInput, match="characters"):
        TraceRequest("tiny-austen-bible", "a" * 100_001)


@pytest.mark.parametrize("alpha", [math.nan, math.inf, -math.inf, 1e9])
def test_non_finite_or_extreme_alpha_is_refused(alpha):
    with pytest.raises(BadInput):
        FeatureSteer("blocks.2.hook_resid_post", 3, alpha)


def test_bad_mode_and_feature_are_refused():
    with pytest.raises(BadInput, match="mode"):
        FeatureSteer("x", 1, 1.0, mode="boost")
    with pytest.raises(BadInput, match="Feature index"):
        FeatureSteer("x", -1, 1.0)


def test_requests_are_hashable_cache_keys():
    a = TraceRequest("m", "hi", saes=["s"], steering=[FeatureSteer("s", 1, 2)])
    b = TraceRequest("m", "hi", saes=("s",), steering=(FeatureSteer("s", 1, 2.0),))
    assert a == b and hash(a) == hash(b)
    assert a.base() == TraceRequest("m", "hi", saes=("s",))


def test_zero_add_steer_is_identity():
    r = TraceRequest("m", "hi", steering=(FeatureSteer("s", 1, 0.0), FeatureSteer("s", 2, 0.0, mode="ablate")))
    assert r.active_steering == (FeatureSteer("s", 2, 0.0, mode="ablate"),)


def test_registry_refuses_duplicates_and_unknown_names():
    reg = Registry()
    reg.register(ModelSpec("a", "A", "src"))
    with pytest.raises(ValueError, match="twice"):
        reg.register(ModelSpec("a", "A again", "src"))
    with pytest.raises(ValueError, match="duplicate SAE"):
        reg.register(ModelSpec("b", "B", "src", saes=(SAESpec("x", "blocks.0.hook_resid_pre"),) * 2))
    with pytest.raises(LoadError, match="Unknown model 'zzz'"):
        REGISTRY.get("zzz")
    with pytest.raises(LoadError, match="no SAE called"):
        REGISTRY.get("gpt2-small").sae("nope")


def test_registry_lists_the_required_entries():
    assert REGISTRY.names()[0] == "tiny-austen-bible"
    gpt2 = REGISTRY.get("gpt2-small")
    assert gpt2.source == "gpt2" and gpt2.kwargs["center_writing_weights"] is True
    assert [s.hook for s in gpt2.saes] == [f"blocks.{l}.hook_resid_pre" for l in range(12)]
    assert {s.release for s in gpt2.saes} == {"gpt2-small-res-jb"}
    assert gpt2.sae("blocks.8.hook_resid_pre").neuronpedia == "gpt2-small/8-res-jb"
    gemma = REGISTRY.get("gemma-2-2b")
    assert gemma.source == "google/gemma-2-2b"
    assert gemma.saes[12].release == "gemma-scope-2b-pt-res-canonical"
    assert gemma.saes[12].hook == "blocks.12.hook_resid_post"
    emb = REGISTRY.get("tiny-austen-bible")
    assert emb.embedded and all(s.path.is_dir() for s in emb.saes)
