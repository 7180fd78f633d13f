"""Steering widgets: return the FeatureSteer list the user set up (nothing is run here)."""
from __future__ import annotations

import streamlit as st

from components import session
from interp import boundary
from interp.requests import STEER_MODES, FeatureSteer

MAX_STEERS = session.MAX_STEERS
WHERE = list(boundary.STEER_WHERE)


def _strength_why(a) -> str:
    return (f"Steering strength {boundary.shown(a)} is outside the documented range "
            f"-{boundary.STEER_MULT:g} to {boundary.STEER_MULT:g} (x max activation).")


def steering_ui(sae_id: str, candidates: list[int], n_prompt: int, str_tokens, max_act, decoder_norm,
                mean_resid_norm: float, label_of=lambda f: "", d_sae: int | None = None) -> list[FeatureSteer]:
    """Rows of (feature, strength, mode) plus where to steer. Strength is in multiples of the feature's
    maximum activation on held-out text; the caption converts it to ||alpha W_dec|| / mean ||resid||.
    label_of(feature) -> its label ("" if none), shown under the feature's number. d_sae: the SAE's width;
    a feature at or past it (typed, linked, from a record, or kept from another model) is refused with a
    message and the previous valid one kept."""
    d_sae = boundary.MAX_FEATURE if d_sae is None else d_sae
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
        default = candidates[i] if i < len(candidates) and 0 <= candidates[i] < d_sae else 0
        feature = c1.number_input(
            f"Feature {i + 1}", 0, d_sae - 1, help=f"0 to {d_sae - 1:,}: this SAE has {d_sae:,} latents.",
            key=session.bind(f"steer_f{i}", default,
                             lambda f: isinstance(f, int) and not isinstance(f, bool) and 0 <= f < d_sae,
                             why=lambda f: boundary.steer_range(f, d_sae, sae_id) if isinstance(f, int) else None))
        if label := label_of(int(feature)):
            c1.caption(f"label: `{label}`")
        mode = c3.selectbox("Mode", STEER_MODES, key=session.bind(f"steer_mode{i}", "add", STEER_MODES))
        unit = max_act(int(feature))
        if mode == "ablate":
            mult = 0.0
            c2.caption("ablate: the feature's activation is set to 0 (SAE spliced in, error term kept)")
        else:
            mult = c2.slider(f"Strength {i + 1} (× max activation {unit:.2f})", -10.0, 10.0, step=0.5,
                             key=session.bind(f"steer_a{i}", 0.0, lambda a: isinstance(a, float) and -10.0 <= a <= 10.0,
                                                  why=_strength_why))
            alpha = mult * unit
            ratio = abs(alpha) * decoder_norm(int(feature)) / max(mean_resid_norm, 1e-9)
            c2.caption(f"alpha = {alpha:.2f}; ‖alpha·W_dec‖ / mean ‖resid‖ = {ratio:.2f}")
        if mode == "ablate" or mult != 0.0:
            steers.append(FeatureSteer(sae_id, int(feature), mult * unit, mode, start, end))
    return steers
