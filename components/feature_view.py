"""One SAE feature in full: label with its held-out agreement, top and quantile-band contexts, histogram,
logit tables, similar and lineage features (links that open them in place), its activations on the prompt.

Embedded SAEs read their offline dashboard file; hub SAEs get what can be computed locally (logits,
similar features, activations on the prompt) and the Neuronpedia link. Every text from data is escaped:
contexts go through interp.charts.features.highlighted, labels through st.text or html.escape.
"""
from __future__ import annotations

import html

import pandas as pd
import streamlit as st

from components import cached, session
from components.charts_ui import show
from interp import hooks
from interp.charts.features import contexts_html, highlighted, histogram_chart
from interp.registry import REGISTRY

from interp.charts.sae import ALWAYS_ON  # (one threshold for every page: flagged here, not hidden)


def _tok(t: str) -> str:
    return repr(t)


def plain(text: str, where=st) -> None:
    """Text from data, escaped and drawn as is (st.text would be a code block; markdown would interpret it)."""
    if text:
        where.html(f'<div style="font-size: 0.9em;">{html.escape(text)}</div>')


def label_text(dash, feature: int) -> str:
    return dash.label(feature)["label"] if dash is not None else ""


def agreement_badge(info: dict) -> str:
    """How the label fares on held-out text, in words (plain text, no markup)."""
    if info.get("holds") is None:
        n = info.get("n_fire")
        return "⚪ agreement not measured" + (f" (fires {n} times on held-out text)" if n is not None else "")
    verdict = "✅ label holds" if info["holds"] else "❌ label does not hold"
    return (f"{verdict} on held-out text: agreement (F1) {info['agreement']:.2f} · precision "
            f"{info['precision'] if info['precision'] is not None else '-'} · recall "
            f"{info['recall'] if info['recall'] is not None else '-'} · {info['n_fire']} firings")


def render_label(dash, feature: int) -> None:
    info = dash.label(feature)
    density = dash.density(feature)
    st.html(f"<div><b>Label (offline):</b> <code>{html.escape(info['label'])}</code></div>")
    plain(agreement_badge(info))
    note = f" · always on (fires on at least {ALWAYS_ON:.0%} of tokens)" if density >= ALWAYS_ON else ""
    st.caption(f"Fires on {100 * density:.2f} % of label-text tokens · max activation "
               f"{float(dash.a['max_act'][feature]):.3f}{note}")


def _link(sae_id: str, feature: int, text: str, key: str, page: str | None) -> None:
    """A button that opens a feature (a short, markup-free title) with its description as plain text beside it."""
    left, right = st.columns([1, 4], vertical_alignment="center")
    left.button(f"{hooks.short(sae_id)} #{feature}", key=key, on_click=session.open_feature,
                args=(sae_id, feature, page))
    plain(text, right)


def render_contexts(dash, feature: int) -> None:
    ctxs = dash.contexts(feature)
    top_act = float(dash.a["max_act"][feature])
    tops = [c for c in ctxs if c.kind == "top"]
    if not tops:
        st.info("This feature never fired on the label text (a dead latent).")
        return
    st.markdown(f"**Top {len(tops)} contexts** (shade = activation; the picked token is underlined)")
    st.html(contexts_html([(c.act, highlighted(c.tokens, c.acts, top_act, c.center)) for c in tops]))
    edges = dash.a["band_edges"][feature]
    with st.expander("Examples from each activation quantile band"):
        bands = dash.meta["bands"]
        for b in range(len(bands) - 1):
            rows = [c for c in ctxs if c.kind == f"band {b}"]
            st.caption(f"quantiles {bands[b]:.2f}-{bands[b + 1]:.2f} of the non-zero activations "
                       f"({edges[b]:.2f}-{edges[b + 1]:.2f})")
            if rows:
                st.html(contexts_html([(c.act, highlighted(c.tokens, c.acts, top_act, c.center)) for c in rows]))


def render_logits(logits: dict) -> None:
    left, right = st.columns(2)
    left.dataframe(pd.DataFrame([(_tok(t), v) for t, v in logits["promoted"]], columns=["promoted token", "W_dec·W_U"]),
                   hide_index=True)
    right.dataframe(pd.DataFrame([(_tok(t), v) for t, v in logits["suppressed"]],
                                 columns=["suppressed token", "W_dec·W_U"]), hide_index=True)
    st.caption("Direct effect of the decoder direction through the unembedding (final LayerNorm scale ignored).")


def render_links(model: str, sae_id: str, feature: int, dash, key: str, page: str | None) -> None:
    st.markdown("**Similar features** (same SAE, decoder cosine)")
    similar = dash.similar(feature) if dash is not None else cached.similar_features(model, sae_id, feature)
    for i, (g, cos) in enumerate(similar):
        _link(sae_id, g, f"cos {cos:.2f}  {label_text(dash, g)}", f"{key}_sim{i}", page)
    if dash is None:
        return
    lineage = dash.lineage(feature)
    if lineage:
        st.markdown("**Lineage** (best match in the previous / next layer's SAE)")
    for i, m in enumerate(lineage):
        other = cached.feature_dashboard(model, m["sae"])
        _link(m["sae"], m["feature"], f"{m['side']} layer, {m['how']} {m['score']:.2f}  {label_text(other, m['feature'])}",
              f"{key}_lin{i}", page)


def render_on_prompt(request, sae_id: str, feature: int) -> None:
    acts = cached.feature_on_prompt(request, sae_id, feature)
    t = cached.trace(request)
    top = max(float(acts.max()), 1e-9)
    st.markdown(f"**On your prompt** (max {float(acts.max()):.3f})")
    st.html(contexts_html([(float(acts.max()), highlighted(t.str_tokens[1:], acts[1:], top))]))


def render_feature(model: str, sae_id: str, feature: int, request=None, key: str = "fv", page: str | None = None) -> None:
    """The whole feature view. request: a TraceRequest whose trace includes sae_id (for the prompt row);
    page: url path to switch to when a link is clicked (None = open in place on this page)."""
    spec = REGISTRY.get(model).sae(sae_id)
    dash = cached.feature_dashboard(model, sae_id)
    st.subheader(f"{hooks.short(sae_id)} · feature #{feature}")
    if dash is not None:
        render_label(dash, feature)
    else:
        st.caption("No offline dashboard for this SAE: showing what can be computed here.")
    if spec.neuronpedia:
        st.link_button("Open on Neuronpedia", f"https://www.neuronpedia.org/{spec.neuronpedia}/{feature}")
    if request is not None:
        render_on_prompt(request, sae_id, feature)
    if dash is not None:
        render_contexts(dash, feature)
        lower, counts = dash.histogram(feature)
        if counts.sum():
            show(histogram_chart(lower, counts, feature, dash.density(feature)), export=f"{key}_hist{feature}")
    render_logits(dash.logit_table(feature) if dash is not None else cached.feature_logit_effects(model, sae_id, feature))
    render_links(model, sae_id, feature, dash, key, page)


def render_offline(model: str, sae_id: str, feature: int, key: str = "sae_fv", page: str | None = "features") -> None:
    """The parts of the feature view the SAE features page's detail lacks: label agreement, contexts and
    histogram (embedded SAEs), similar and lineage features; their links open the Features page."""
    dash = cached.feature_dashboard(model, sae_id)
    if dash is not None:
        render_label(dash, feature)
        render_contexts(dash, feature)
        lower, counts = dash.histogram(feature)
        if counts.sum():
            show(histogram_chart(lower, counts, feature, dash.density(feature)), export=f"{key}_hist{feature}")
    render_links(model, sae_id, feature, dash, key, page)
