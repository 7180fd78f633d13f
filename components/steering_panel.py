"""Steering laid out for an audience: base and steered text side by side, features picked from a searchable
ranking of what steers (the precomputed scan), and the dose-response of the strength. Nothing runs the model
here: the sweep and the scan come through components.cached."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from components import cached
from components.charts_ui import show
from interp.charts.dose import dose_response_chart, sweep_frame
from interp.errors import InterpError

from interp.charts.sae import ALWAYS_ON  # (hidden from the ranking by default, as on the SAE page)
SLIDER_MAX, SLIDER_STEP = 10.0, 0.5  # the strength slider of components.steering_ui


def to_slider(alpha: float, unit: float) -> float:
    """A strength in activation units -> the slider's value (x unit), on the slider's grid and range."""
    mult = round(alpha / max(unit, 1e-9) / SLIDER_STEP) * SLIDER_STEP
    return float(min(SLIDER_MAX, max(-SLIDER_MAX, mult)))


def ranking(scan: dict, labels: dict, hide_always_on: bool = True, by: str = "score") -> pd.DataFrame:
    """Features of a scan, best first by `by` ("score" or "scripture +"); features whose continuations were
    checked lead. scripture + counts only strengths inside the feature's working range."""
    ratios = scan.get("ratios", [])
    rows = []
    for f, v in scan.get("features", {}).items():
        info = labels.get(f, {})
        if hide_always_on and info.get("freq", 0.0) >= ALWAYS_ON:
            continue
        rng = v.get("range")
        inside = [x for r, x in zip(ratios, v.get("scripture") or []) if rng and rng[0] <= r <= rng[1]]
        rows.append({"feature": int(f), "label": info.get("label", ""), "score": v.get("score", 0.0),
                     "checked": bool(v.get("checked")), "scripture +": max(inside, default=0.0),
                     "works at (× mean ‖resid‖)": f"{rng[0]:g}–{rng[1]:g}" if rng else "",
                     "lo": rng[0] if rng else None, "hi": rng[1] if rng else None,
                     "stage1": max(v.get("tf_rise") or [0.0])})
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    keys = ["checked", by, "score", "stage1"] if by != "score" else ["checked", "score", "stage1"]
    return df.sort_values(keys, ascending=False, ignore_index=True)


def _pick(key: str, default_strength) -> None:
    """on_change of the search box: the picked feature becomes steering row 1, at a strength that works."""
    f = st.session_state.get(key)
    if f is None:
        return
    st.session_state["steer_f0"] = int(f)
    st.session_state["steer_mode0"] = "add"
    st.session_state["steer_a0"] = default_strength(int(f))


def feature_search(model: str, sae_id: str, labels: dict, unit_of, decoder_norm_of, resid_norm: float) -> None:
    """Search box over the SAE's features by label, ranked by the steerability scan; picking one sets
    steering row 1 to it, with the strength in the middle of its working range."""
    scan = cached.steerability(model, sae_id)
    if not scan:
        st.caption("No precomputed steerability scan for this SAE (hub SAEs): pick a feature by number below and "
                   "read its dose-response.")
        return
    c1, c2 = st.columns(2)
    by = c1.radio("Rank by", ["scripture +", "score"], horizontal=True, key="steer_rank_by",
                  format_func={"scripture +": "scripture words added", "score": "promoted-token effect"}.get)
    hide = c2.toggle("Hide always-on features", True, key="steer_hide_always_on",
                     help=f"Features that fire on at least {ALWAYS_ON:.0%} of held-out tokens.")
    df = ranking(scan, labels, hide, by)
    by_feature = df.set_index("feature")

    def default_strength(f: int) -> float:
        lo, hi = by_feature.at[f, "lo"], by_feature.at[f, "hi"]
        ratio = (lo + hi) / 2 if lo is not None and pd.notna(lo) else 0.5
        return to_slider(ratio * resid_norm / max(decoder_norm_of(f), 1e-9), unit_of(f))

    def fmt(f: int) -> str:
        row = by_feature.loc[f]
        works = f" · works at {row['works at (× mean ‖resid‖)']}× ‖resid‖" if row["lo"] is not None and pd.notna(row["lo"]) else ""
        return f"#{f} · {row['label'] or '(no label)'} · score {row['score']:.3f}{works}"

    st.selectbox("Find a feature that steers (type to search its label)", list(df["feature"]), index=None,
                 format_func=fmt, key="steer_search", placeholder="e.g. God, Mr, Elizabeth…",
                 on_change=_pick, args=("steer_search", default_strength))
    with st.expander("Features that steer, ranked"):
        st.dataframe(df.head(30).drop(columns=["lo", "hi", "stage1", "checked"]), hide_index=True,
                     column_config={"score": st.column_config.NumberColumn(format="%.3f"),
                                    "scripture +": st.column_config.NumberColumn(format="%.2f")})
        st.caption(f"Scan: {len(scan['prompts'])} held-out prompts, {scan['n_new']} sampled tokens, strengths "
                   f"{', '.join(f'{r:g}' for r in scan['ratios'])} × mean ‖resid‖. score = rise of the probability "
                   "on the feature's top promoted tokens at the best strength whose continuation stays coherent "
                   f"(loss under the unsteered model within +{scan['loss_slack']:g} nats, repeated bigrams within "
                   f"+{scan['rep_slack']:g}). scripture + = scripture words added per continuation.")


def texts(container, base_text: str, steered_text: str) -> None:
    """Base and steered continuations side by side (plain text: never Markdown)."""
    a, b = container.columns(2)
    a.markdown("**Base continuation**")
    a.text(base_text)
    b.markdown("**Steered continuation** (same seed)")
    b.text(steered_text)


def dose_response(model: str, prompt: str, sae_id: str, steer, unit: float, seed: int, row: int) -> None:
    """The strength sweep of one steering row, its working range, and a one-click re-run at a chosen strength."""
    if steer.mode == "ablate":
        st.caption("Ablate has no strength to sweep.")
        return
    try:
        sw = cached.steer_sweep(model, prompt, sae_id, steer.feature, steer.mode, steer.start, seed, steer.alpha)
    except InterpError as e:
        st.error(str(e))
        return
    rng = sw.working_range
    lo, hi = (to_slider(rng[0], unit), to_slider(rng[1], unit)) if rng else (None, None)
    title = f"Dose-response of feature {steer.feature} ({steer.mode})"
    show(dose_response_chart(sweep_frame(sw, unit), rng and rng[0] / unit, rng and rng[1] / unit, title),
         export=f"dose_response_f{steer.feature}")
    if rng:
        st.success(f"Working range: {lo:g}–{hi:g} × {unit:.2f} (the slider's unit): the effect has risen and the "
                   "continuation is still coherent.")
    else:
        st.warning("No strength on the grid both raises the effect and keeps the continuation coherent.")
    st.caption("Effect: probability on the feature's top promoted tokens (W_dec·W_U), and the feature re-encoded "
               "at its own hook (clamping sets it, so it does not show whether the push survives downstream). Cost: "
               "KL(base ‖ steered) over the prompt, the continuation's loss under the unsteered model, and its "
               f"repeated-bigram rate. {len(sw.points)} strengths (the slider's included) × 8 samples of 20 tokens, "
               "same random draws at every strength.")
    points = sorted({to_slider(p.alpha, unit) for p in sw.points})
    c1, c2 = st.columns([3, 1])
    at = c1.select_slider("Strength to generate at", points, value=lo if lo in points else points[0],
                          key=f"sweep_pick{row}")
    c2.button("Generate at this strength", key=f"sweep_go{row}", on_click=_set_strength, args=(row, at))


def _set_strength(row: int, value: float) -> None:
    st.session_state[f"steer_a{row}"] = float(value)
