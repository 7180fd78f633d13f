"""SAE features: what the SAE reads at each token, one feature in detail, reconstruction health, steering."""
import numpy as np
import pandas as pd
import streamlit as st

from components import cached, session, steering_panel
from components.charts_ui import show
from components.feature_view import render_offline
from components.page import current_trace
from components.run_record_ui import record_panel
from components.steering_ui import steering_ui
from interp import hooks
from interp.charts.common import token_labels
from interp.charts.sae import ALWAYS_ON, always_on, token_feature_heatmap, top_features_frame
from interp.charts.steering import feature_activation_chart, kl_chart, next_token_comparison
from interp.errors import InterpError
from interp.registry import REGISTRY
from interp.requests import TraceRequest

st.title("SAE features")
trace = current_trace()
if not trace.saes:
    st.info("No SAE is loaded for this view (this model has none in the registry, or it failed to load: see above).")
    st.stop()
sae_id = next(iter(trace.saes))
acts = trace.saes[sae_id]
labels = cached.sae_labels(trace.model, sae_id)
spec = REGISTRY.get(trace.model).sae(sae_id)
body = slice(1, None) if trace.n_pos > 1 else slice(None)

c1, c2, c3, c4 = st.columns(4)
c1.metric("SAE", hooks.short(sae_id), help=f"SAE {sae_id!r} reads {spec.hook}")
c2.metric("Latents", f"{acts.d_sae:,}")
c3.metric("Mean L0 (non-BOS)", f"{acts.l0[body].mean():.1f}")
c4.metric("Variance explained (this prompt)", f"{1 - acts.fvu:.2f}")
for w in cached.mismatch_warnings(trace.model, sae_id, trace.n_pos):
    st.warning(w)

df = top_features_frame(trace, sae_id, labels)
frequent = always_on(labels)


def render_tokens():
    st.caption("BOS is excluded, as sae-lens does when training and evaluating SAEs. share = the feature's "
               "activation / the sum of all activations at that token.")
    if df.empty:
        st.info("No feature is active on this prompt.")
    else:
        labels_tok = token_labels(trace.str_tokens)
        picker = st.pills if trace.n_pos <= 41 else st.selectbox  # no wall of 255 token buttons
        pos = picker("Token", range(1, trace.n_pos), format_func=lambda p: labels_tok[p],
                     key=session.bind_token("sae_token", trace.n_pos))
        pos = pos if pos is not None else trace.n_pos - 1
        st.dataframe(df[df["pos"] == pos].drop(columns=["pos"]), hide_index=True, column_config={
            "activation": st.column_config.NumberColumn(format="%.3f"),
            "share": st.column_config.ProgressColumn(format="%.2f", min_value=0.0, max_value=1.0),
            "density": st.column_config.NumberColumn("firing density", format="percent",
                                                      help="Share of held-out tokens the feature fires on")})
        show(token_feature_heatmap(df), export="sae_token_features")
        st.download_button("Download top features (CSV)", df.to_csv(index=False), "sae_top_features.csv",
                           "text/csv", key="sae_csv", on_click="ignore")


def render_detail():
    default = int(df.iloc[0]["feature"]) if not df.empty else 0
    feature = st.number_input("Feature", 0, acts.d_sae - 1,
                              key=session.bind("sae_feature", default, lambda f: isinstance(f, int) and 0 <= f < acts.d_sae))
    info = labels.get(str(feature))
    if info:
        st.markdown(f"**Label (offline, top activating tokens):** `{info['label']}` · max activation "
                    f"{info['max_act']:.3f} · fires on {100 * info['freq']:.2f} % of held-out tokens")
        st.dataframe(pd.DataFrame(info["contexts"]), hide_index=True)
    elif labels:
        st.info("This feature never fired on the held-out label text (a dead latent).")
    if spec.neuronpedia:
        st.link_button("Open on Neuronpedia", f"https://www.neuronpedia.org/{spec.neuronpedia}/{feature}")
    feat_acts = cached.feature_activations(trace.model, sae_id, acts.inputs, feature)
    show(feature_activation_chart(trace.str_tokens, feat_acts, feature), export=f"feature{feature}_activations")
    eff = cached.feature_logit_effects(trace.model, sae_id, feature)
    left, right = st.columns(2)
    left.dataframe(pd.DataFrame(eff["promoted"], columns=["promoted token", "W_dec·W_U"]), hide_index=True)
    right.dataframe(pd.DataFrame(eff["suppressed"], columns=["suppressed token", "W_dec·W_U"]), hide_index=True)
    st.caption("Direct effect of the decoder direction through the unembedding (final LayerNorm scale ignored).")
    with st.expander("Feature dashboard: contexts, histogram, similar and lineage features", expanded=True):
        render_offline(trace.model, sae_id, int(feature))


def render_health():
    m = cached.splice_metrics(TraceRequest(trace.model, trace.prompt), sae_id)
    if m:
        h1, h2, h3, h4 = st.columns(4)
        h1.metric("CE clean", f"{m['ce_clean']:.3f}")
        h2.metric("CE with SAE spliced", f"{m['ce_spliced']:.3f}", f"{m['ce_spliced'] - m['ce_clean']:+.3f}",
                  delta_color="inverse")
        h3.metric("CE with error term kept", f"{m['ce_with_error_term']:.3f}")
        h4.metric("Mean KL(clean ‖ spliced)", f"{m['kl_mean']:.3f}")
    health = pd.DataFrame({"token": token_labels(trace.str_tokens), "L0": acts.l0,
                           "error norm": acts.error_norm, "relative error": acts.error_norm / np.maximum(acts.input_norm, 1e-9)})
    st.dataframe(health.iloc[body], hide_index=True)
    st.caption("Next-token cross-entropy over this prompt; the SAE replaces its hook's activation at every "
               "position except BOS. Keeping the error term must reproduce the clean run.")


def max_act(f: int) -> float:
    entry = labels.get(str(f))
    return float(entry["max_act"]) if entry else max(float(acts.top_act.max()), 1e-3)


@st.fragment
def steering_section():
    st.caption("Add a feature's decoder direction (add), set its activation (clamp) or remove it (ablate) at "
               f"{sae_id}. Only this section reruns when a slider moves.")
    candidates = list(dict.fromkeys(int(f) for f in df["feature"])) if not df.empty else [0]
    top = st.container()  # base and steered text go first, above the controls
    resid_norm = float(acts.input_norm[body].mean())
    steering_panel.feature_search(trace.model, sae_id, labels, max_act,
                                  lambda f: cached.decoder_norm(trace.model, sae_id, f), resid_norm)
    steers = steering_ui(sae_id, candidates, trace.n_pos, trace.str_tokens, max_act,
                         lambda f: cached.decoder_norm(trace.model, sae_id, f), resid_norm,
                         label_of=lambda f: labels.get(str(f), {}).get("label", ""), d_sae=acts.d_sae)
    g1, g2, g3 = st.columns(3)
    n_new = g1.slider("New tokens", 5, 60, key=session.bind("gen_n", 30, range(5, 61)))
    temperature = g2.slider("Temperature", 0.0, 1.5, step=0.1,
                            key=session.bind("gen_temp", 0.8, lambda t: isinstance(t, float) and 0.0 <= t <= 1.5))
    seed = g3.number_input("Seed", 0, 10_000, key=session.bind("gen_seed", 0, range(0, 10_001)))
    base_req = TraceRequest(trace.model, trace.prompt, (sae_id,))
    try:
        steered_req = TraceRequest(trace.model, trace.prompt, (sae_id,), tuple(steers))
        steered = cached.trace(steered_req)
        base_gen = cached.generate(base_req, n_new, temperature, seed)
        steered_gen = cached.generate(steered_req, n_new, temperature, seed)
    except InterpError as e:
        st.error(str(e))
        return
    cmp = next_token_comparison(trace.next_token_logprobs, steered.next_token_logprobs,
                                lambda i: cached.str_tokens(trace.model, [i])[0])
    st.markdown("**Next token after the prompt: base vs steered**")
    st.dataframe(cmp, hide_index=True, column_config={
        "base": st.column_config.ProgressColumn(format="%.3f", min_value=0.0, max_value=1.0),
        "steered": st.column_config.ProgressColumn(format="%.3f", min_value=0.0, max_value=1.0),
        "change": st.column_config.NumberColumn(format="%+.3f")})
    steering_panel.texts(top, base_gen.text, steered_gen.text)
    rows = [i for i in range(session.MAX_STEERS) if st.session_state.get(f"steer_mode{i}") == "ablate"
            or st.session_state.get(f"steer_a{i}", 0.0) != 0.0]  # the rows steering_ui turned into steers
    if steers:  # the dose-response of the first steering row
        steering_panel.dose_response(trace.model, trace.prompt, sae_id, steers[0], max_act(steers[0].feature),
                                     int(seed), rows[0] if rows else 0)
    if steers and steered_gen.new_str_tokens:
        kl = cached.per_token_kl(steered_req, steered_gen.tokens, steered_gen.prompt_tokens)
        show(kl_chart(steered_gen.new_str_tokens, kl), export="steering_kl")
    # the record (and the URL, which it syncs) are drawn inside the fragment: its reruns skip app.py
    record_panel(trace, "sae-features", steering=steers, seed=int(seed), steered=steered, base_gen=base_gen,
                 steered_gen=steered_gen)


# One view at a time: only the visible view computes (hidden tabs used to recompute after every Run).
VIEWS = {"tokens": ("Features per token", render_tokens), "detail": ("Feature detail", render_detail),
         "health": ("Reconstruction health", render_health), "steering": ("Steering", steering_section)}
pick, hide = st.columns([3, 1], vertical_alignment="center")
view = pick.segmented_control("View", list(VIEWS), format_func=lambda v: VIEWS[v][0], label_visibility="collapsed",
                              key=session.bind("sae_view", "tokens", VIEWS),
                              on_change=session.keep_selected("sae_view")) or "tokens"
if frequent and hide.toggle("Hide always-on features", key=session.bind("sae_hide_always_on", True),
                            help=f"Features that fire on at least {ALWAYS_ON:.0%} of held-out tokens."):
    df = df[~df["feature"].isin(frequent)]  # every ranking below: the token table, the heatmap, the pickers
    st.caption("Hidden from the rankings: always-on features " + ", ".join(
        f"{f} ({d:.0%} of tokens)" for f, d in sorted(frequent.items(), key=lambda x: -x[1]))
        + ". They fire on nearly every token, like a bias, and say little about it; turn the toggle off to see them.")
with st.spinner(f"Computing {VIEWS[view][0].lower()}…"):  # the one busy indicator for the view
    VIEWS[view][1]()
if view != "steering":  # the steering view draws its own record (inside its fragment)
    record_panel(trace, "sae-features")
