"""Features: search every SAE of the model, open one feature in full, or see every layer's features at a token."""
import streamlit as st

from components import cached, session
from components.feature_view import ALWAYS_ON, label_text, plain, render_feature
from interp import hooks
from interp.charts.common import token_labels
from interp.dashboards import search
from interp.errors import InterpError
from interp.registry import REGISTRY
from interp.requests import TraceRequest

PANES = ["Search", "Feature", "All layers"]
MODES = ["token", "label text", "phrase"]
MAX_SAES = 4  # SAEs traced at once for phrase search / all layers (a hub SAE is ~150 MB)

st.title("Features")
choice = session.choice()
spec = REGISTRY.get(choice.model)
ids = [s.id for s in spec.saes]
if not ids:
    st.info("This model has no SAE in the registry.")
    st.stop()
step = -(-len(ids) // MAX_SAES)
traced_ids = tuple(ids[::step])  # every SAE of the embedded models; evenly spaced ones for hub models
dashboards = {sid: d for sid in ids if (d := cached.feature_dashboard(choice.model, sid)) is not None}
pane = st.segmented_control("View", PANES, key=session.bind("feat_pane", "Search", PANES)) or "Search"


def trace_or_stop(request: TraceRequest):
    try:
        return cached.trace(request)
    except InterpError as e:
        st.error(str(e))
        st.stop()


def hit_rows(hits: list[dict], key: str) -> None:
    for i, h in enumerate(hits):
        left, right = st.columns([1, 4], vertical_alignment="center")
        left.button(f"{hooks.short(h['sae'])} #{h['feature']}", key=f"{key}{i}", on_click=session.open_feature,
                    args=(h["sae"], h["feature"]))
        plain(f"{h['why']}  ·  {label_text(dashboards.get(h['sae']), h['feature'])}", right)


if pane == "Search":
    mode = st.radio("Search by", MODES, horizontal=True, key=session.bind("feat_mode", "token", MODES))
    query = st.text_input("Search", max_chars=search.MAX_QUERY, placeholder="e.g. God, shall, word-piece",
                          key=session.bind("feat_q", "", lambda q: isinstance(q, str) and len(q) <= search.MAX_QUERY))
    st.caption({"token": "Features with the highest mean activation on this token in the label text (' God' and "
                         "'God' both count).",
                "label text": "Features whose offline label contains this text.",
                "phrase": "The phrase is run through the model; features most active anywhere on it (relative to "
                          "their largest activation on the label text; always-on features left out)."}[mode])
    if query.strip():
        if mode == "phrase":
            hits = search.by_trace(  # always-on features (label-text density >= ALWAYS_ON) would top every phrase
                trace_or_stop(TraceRequest(choice.model, query, saes=traced_ids, top_k=16)),
                skip=lambda s, f: s in dashboards and dashboards[s].density(f) >= ALWAYS_ON,
                max_act=(lambda s, f: float(dashboards[s].a["max_act"][f])) if len(dashboards) == len(traced_ids) else None)
        elif not dashboards:
            st.info("Token and label search read the offline dashboards of the embedded SAEs; this model has "
                    "none. Search by phrase instead.")
            hits = []
        else:
            hits = search.by_label(dashboards, query) if mode == "label text" else search.by_token(dashboards, query)
        if not hits and (mode == "phrase" or dashboards):
            st.info("No feature found.")
        hit_rows(hits[:25], "feat_hit")

elif pane == "Feature":
    c1, c2 = st.columns(2)
    sae_id = c1.selectbox("SAE", ids, format_func=hooks.short, key=session.bind("feat_sae", ids[len(ids) // 2], ids))
    request = TraceRequest(choice.model, choice.prompt, saes=(sae_id,))
    d_sae = dashboards[sae_id].d_sae if sae_id in dashboards else trace_or_stop(request).saes[sae_id].d_sae
    feature = c2.number_input("Feature", 0, d_sae - 1,
                              key=session.bind("feat_id", 0, lambda f: isinstance(f, int) and 0 <= f < d_sae))
    trace_or_stop(request)
    render_feature(choice.model, sae_id, int(feature), request, key="feat_view")

else:
    request = TraceRequest(choice.model, choice.prompt, saes=traced_ids, top_k=8)
    trace = trace_or_stop(request)
    if trace.n_pos < 2:
        st.info("The prompt has no token after BOS.")
        st.stop()
    labels = token_labels(trace.str_tokens)
    pos = st.selectbox("Token", range(1, trace.n_pos), format_func=lambda p: labels[p],
                       key=session.bind("feat_tok", trace.n_pos - 1, range(1, trace.n_pos)))
    st.caption("The top features of every SAE at this token, side by side (activation, then label). "
               + ("" if len(traced_ids) == len(ids) else f"{len(traced_ids)} of {len(ids)} SAEs, evenly spaced."))
    columns = st.columns(len(traced_ids))
    for col, (sae, feats) in zip(columns, search.all_layers(trace, pos).items()):
        with col:
            st.markdown(f"**{hooks.short(sae)}**")
            for i, (f, a) in enumerate(feats):
                st.button(f"#{f} · {a:.2f}", key=f"feat_all_{sae}_{i}", on_click=session.open_feature, args=(sae, f))
                if sae in dashboards:
                    plain(label_text(dashboards[sae], f)[:60])
