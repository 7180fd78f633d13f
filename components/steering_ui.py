"""Steering widgets: return the FeatureSteer list the user set up (nothing is run here)."""
from __future__ import annotations

import streamlit as st

from components import session
from interp.requests import STEER_MODES, FeatureSteer

MAX_STEERS = session.MAX_STEERS
WHERE = ["all (generated tokens too)", "prompt only", "from a chosen token on"]


def steering_ui(sae_id: str, candidates: list[int], n_prompt: int, str_tokens, max_act, decoder_norm,
                mean_resid_norm: float, label_of=lambda f: "") -> list[FeatureSteer]:
    """Rows of (feature, strength, mode) plus where to steer. Strength is in multiples of the feature's
    maximum activation on held-out text; the caption converts it to ||alpha W_dec|| / mean ||resid||.
    label_of(feature) -> its label ("" if none), shown under the feature's number."""
    where = st.radio("Steer which positions", WHERE, horizontal=True, key=session.bind("steer_where", WHERE[0], WHERE))
    start, end = 0, None
    if where == "prompt only":
        end = n_prompt
    elif where.startswith("from"):
        start = st.selectbox("First steered token", range(1, n_prompt), format_func=lambda p: f"{p}:{str_tokens[p]}",
                             key=session.bind("steer_start", max(1, n_prompt - 1), range(1, n_prompt)))
    steers = []
    for i in range(MAX_STEERS):
        c1, c2, c3 = st.columns([1, 2, 1])
        default = candidates[i] if i < len(candidates) else 0
        feature = c1.number_input(f"Feature {i + 1}", 0, None,
                                  key=session.bind(f"steer_f{i}", default, lambda f: isinstance(f, int) and f >= 0))
        if label := label_of(int(feature)):
            c1.caption(f"label: `{label}`")
        mode = c3.selectbox("Mode", STEER_MODES, key=session.bind(f"steer_mode{i}", "add", STEER_MODES))
        unit = max_act(int(feature))
        if mode == "ablate":
            mult = 0.0
            c2.caption("ablate: the feature's activation is set to 0 (SAE spliced in, error term kept)")
        else:
            mult = c2.slider(f"Strength {i + 1} (× max activation {unit:.2f})", -10.0, 10.0, step=0.5,
                             key=session.bind(f"steer_a{i}", 0.0, lambda a: isinstance(a, float) and -10.0 <= a <= 10.0))
            alpha = mult * unit
            ratio = abs(alpha) * decoder_norm(int(feature)) / max(mean_resid_norm, 1e-9)
            c2.caption(f"alpha = {alpha:.2f}; ‖alpha·W_dec‖ / mean ‖resid‖ = {ratio:.2f}")
        if mode == "ablate" or mult != 0.0:
            steers.append(FeatureSteer(sae_id, int(feature), mult * unit, mode, start, end))
    return steers
