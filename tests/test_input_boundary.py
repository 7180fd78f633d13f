"""The typed boundary (interp/boundary.py, interp/run_record.py): every failure of issue #13's adversarial run,
fed as a file or a link, gives one sentence of the app's own error type; nothing else escapes (Hypothesis)."""
import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from interp import boundary
from interp.errors import BadInput, InterpError
from interp.labels import load_labels
from interp.requests import FeatureSteer
from interp.run_record import FORMAT, parse

GOOD = {"format": FORMAT, "version": 1, "model": "tiny-austen-bible", "prompt": "Hi there", "sae": None,
        "page": "attention", "view": {"attn_layer": 2}, "steering": []}
SAE = "blocks.1.hook_resid_post"


def record(**changes) -> str:
    return json.dumps({**GOOD, **changes})


def steer(**entry) -> str:
    return record(steering=[{"sae": SAE, "feature": 3, "alpha": 1.0, **entry}])


# Issue #13, failure 2 (malformed run records) and failure 1 (a record edited to another model's SAE).
MALFORMED = {
    "model is a list": (record(model=["tiny-austen-bible"]), "not one this app offers"),
    "model is a dict": (record(model={"a": 1}), "not one this app offers"),
    "view is not an object": (record(view=[1, 2]), "'view' must be an object"),
    "steering feature 'abc'": (steer(feature="abc"), "whole number"),
    "steering alpha NaN": (steer(alpha=float("nan")), "NaN"),
    "steering alpha Infinity": (steer(alpha=float("inf")), "Infinity"),
    "steering start 'x'": (steer(start="x"), "whole number"),
    "steering entry a string": (record(steering=["abc"]), "must be an object"),
    "feature past the SAE (427 of 384, tiny-induction)": (
        record(model="tiny-induction", steering=[{"sae": "blocks.1.hook_resid_post", "feature": 427}]),
        "does not exist in SAE"),
    "feature 10**20": (steer(feature=10**20), "between 0 and"),
    "nested 2,000 deep (4 KB)": ("[" * 2000 + "]" * 2000, "nest"),
    "nested 30 deep inside a valid record": (record(outputs={"a": json.loads("[" * 30 + "]" * 30)}), "nests more"),
    "prompt a number": (record(prompt=5), "prompt must be text"),
    "seed a word": (record(seed="seven"), "whole number"),
    "version true": (record(version=True), "version"),
    "outputs a list": (record(outputs=[1]), "'outputs' must be an object"),
    "sae unknown": (record(sae="blocks.9.hook_resid_post"), "no SAE called"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_records_give_one_sentence(case):
    data, words = MALFORMED[case]
    assert len(data) < 5_000
    with pytest.raises(BadInput, match=words):
        parse(data)


def test_bad_view_values_are_noted_not_kept():
    rec = parse(record(view={"steer_f0": 10**20, "steer_a0": "NaN", "gen_temp": 9.0, "attn_layer": 1, "x": 1}))
    assert rec.view == {"attn_layer": 1}
    assert len(rec.notes) == 4 and all("ignored" in n and "`" in n for n in rec.notes)


def test_feature_steer_refuses_wrong_types_with_bad_input():
    for bad in ({"feature": "abc"}, {"feature": True}, {"feature": 1.5}, {"start": "x"}, {"alpha": "1"},
                {"alpha": math.nan}, {"mode": ["add"]}, {"end": 0}):
        with pytest.raises(BadInput):
            FeatureSteer(**{"sae": SAE, "feature": 1, **bad})


# Failure 1 and 5, from a link.
@pytest.mark.parametrize("params, words", [
    ({"steer_f0": "100000000000000000000"}, "Steering feature 1 must be a whole number"),
    ({"steer_a0": "nan"}, "finite"),
    ({"steer_a0": "11"}, "between -10 and 10"),
    ({"attn_layer": "1e3"}, "whole number"),
    ({"steer_mode0": "explode"}, "must be one of"),
    ({"resid_log": "maybe"}, "true or false"),
])
def test_link_values_out_of_type_or_range_are_said(params, words):
    link = boundary.read_link(params)
    assert link.view == ()
    assert len(link.messages) == 1 and words in link.messages[0], link.messages


def test_a_link_cannot_speak_markdown_in_the_apps_voice():
    link = boundary.read_link({"model": "[Click to re-login](https://evil.example)",
                               "steer_mode0": "![t](http://host/track.png)"})
    assert len(link.messages) == 2
    assert "`'[Click to re-login](https://evil.example)'`" in link.messages[0]  # inside a code span
    assert "`'![t](http://host/track.png)'`" in link.messages[1]


def test_shown_is_one_code_span_whatever_the_backticks():
    assert boundary.shown("a`b") == "``'a`b'``"
    assert boundary.shown("x" * 200).count("`") == 2 and len(boundary.shown("x" * 200)) == 82


def test_long_prompts_and_links():
    long_prompt = "x" * (boundary.MAX_LINK_PROMPT_CHARS + 1)
    link = boundary.read_link({"prompt": long_prompt})
    assert link.prompt is None and "run record" in link.messages[0]
    link = boundary.read_link({"prompt_chars": "20000"})
    assert link.prompt is None and "too long for a link" in link.messages[0]
    huge = boundary.read_link({"prompt": "y" * 150_000, "attn_layer": "1"})
    assert huge.view == () and "characters long" in huge.messages[0]


def test_labels_missing_or_corrupt_degrade_to_no_labels(tmp_path):
    """Failure 3: a corrupt labels.json is 'no labels' with a sentence, never a JSONDecodeError."""
    path = tmp_path / "labels.json"
    assert load_labels(path)[0] == {} and "missing" in load_labels(path)[1]
    for text in ('{"0": {"label": "x", "max_', "[1, 2]", "\xff\xfe", "[" * 5000):
        path.write_text(text, encoding="latin-1")
        labels, message = load_labels(path)
        assert labels == {} and "number only" in message
    path.write_text(json.dumps({"0": {"label": "a", "max_act": 1.0, "freq": 0.1, "contexts": []},
                                "1": {"label": 3}, "x": {}}))
    labels, message = load_labels(path)
    assert list(labels) == ["0"] and "2 of 3" in message


# Property tests: arbitrary JSON and arbitrary query strings never raise anything but the app's error type.
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=20)
FIELDS = st.sampled_from(["model", "prompt", "sae", "page", "view", "steering", "seed", "outputs", "version"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(JSON.map(lambda v: json.dumps(v, allow_nan=True)),
                 st.dictionaries(FIELDS, JSON, max_size=6).map(lambda d: record(**d)),
                 st.lists(st.dictionaries(st.sampled_from(["sae", "feature", "alpha", "mode", "start", "end", "z"]),
                                          JSON, max_size=6), max_size=3).map(lambda s: record(steering=s)),
                 st.dictionaries(st.sampled_from(list(boundary.FIELDS)), JSON, max_size=5).map(lambda v: record(view=v)),
                 st.binary(max_size=64), st.text(max_size=64)))
def test_parse_raises_only_the_apps_error(data):
    try:
        parse(data)
    except InterpError:
        pass


KEYS = st.sampled_from(["model", "prompt", "sae", "prompt_chars", *boundary.FIELDS]) | st.text(max_size=10)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(KEYS, st.text(max_size=30) | st.lists(st.text(max_size=10), max_size=3), max_size=8))
def test_read_link_raises_only_the_apps_error(params):
    try:
        link = boundary.read_link(params)
    except BadInput:
        return
    for key, value in link.view:  # whatever it kept is typed and in range
        assert boundary.FIELDS[key](value) == value
