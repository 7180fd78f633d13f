"""Why a head attends from a query to a key: the QK split over SAE features (compare page)."""
from __future__ import annotations

import altair as alt
import streamlit as st

from components import cached, session
from components.charts_ui import export_menu
from interp.analysis.qk import contrast_pairs
from interp.charts.attention import attention_frame
from interp.charts.common import token_labels
from interp.errors import InterpError

PICK = "qk_pick"


def _picked() -> None:
    """on_select of the heatmap: the clicked cell becomes the query and key (runs before the widgets are drawn)."""
    cells = st.session_state[PICK].selection.get("cell", [])
    if cells and "query_pos" in cells[0]:
        q, k = int(cells[0]["query_pos"]), int(cells[0]["key_pos"])
        if k <= q:
            st.session_state["qk_query"], st.session_state["qk_key"] = q, k
            st.session_state["qk_clicked"] = True  # keep the clicked key (render_qk_split resets it otherwise)


def _clickable_heatmap(trace, layer: int, head: int, query: int, key: int) -> alt.Chart:
    df = attention_frame(trace, layer, head).dropna(subset=["weight"])
    df["chosen"] = (df["query_pos"] == query) & (df["key_pos"] == key)
    order = token_labels(trace.str_tokens)
    cell = alt.selection_point(name="cell", fields=["query_pos", "key_pos"], on="click", clear=False)
    side = max(240, min(560, 22 * len(order)))
    return alt.Chart(df).mark_rect().encode(
        x=alt.X("key:N", sort=order, title="key", axis=alt.Axis(labelAngle=-60, labelOverlap=False)),
        y=alt.Y("query:N", sort=order, title="query", axis=alt.Axis(labelOverlap=False)),
        color=alt.Color("weight:Q", scale=alt.Scale(scheme="blues", domain=[0, 1]), title="attention"),
        stroke=alt.condition("datum.chosen", alt.value("#e45756"), alt.value(None)),
        strokeWidth=alt.condition("datum.chosen", alt.value(3), alt.value(0)),
        tooltip=["query", "key", alt.Tooltip("weight:Q", format=".3f")],
    ).add_params(cell).properties(title=f"L{layer}H{head}: click a cell to split its score", width=side, height=side)


def render_qk_split(trace, layer: int, head: int) -> None:
    labels_tok = token_labels(trace.str_tokens)
    n = trace.n_pos
    q_default = n - 1
    session.bind("qk_query", q_default, range(n))
    query = st.session_state["qk_query"]
    k_default = int(trace.attention[layer, head, query, : query + 1].argmax())
    here = (trace.model, trace.prompt, layer, head, query)
    clicked = st.session_state.pop("qk_clicked", False)
    if st.session_state.get("qk_for", here) != here and not clicked:  # another head or query: where it looks most
        st.session_state["qk_key"] = k_default
    st.session_state["qk_for"] = here
    session.bind("qk_key", k_default, range(query + 1))
    left, right = st.columns([3, 2])
    with left:
        chart = _clickable_heatmap(trace, layer, head, query, st.session_state["qk_key"])
        st.altair_chart(chart, key=PICK, on_select=_picked, selection_mode="cell", width="content")
        export_menu(chart, f"qk_attention_L{layer}H{head}")
    with right:
        query = st.selectbox("Query (attending token)", range(n), format_func=lambda p: labels_tok[p], key="qk_query")
        key = st.selectbox("Key (attended-to token)", range(query + 1), format_func=lambda p: labels_tok[p], key="qk_key",
                           help="Defaults to the key this head attends to most from the chosen query.")
        st.metric("Attention weight (trace)", f"{trace.attention[layer, head, query, key]:.3f}")
        session.bind("qk_other", -1, range(-1, query + 1))
        other = st.selectbox("Compare with another key", range(-1, query + 1), key="qk_other",
                             format_func=lambda p: "(none)" if p < 0 else labels_tok[p],
                             help="Softmax only cares how scores differ between keys: split score(query, key) − "
                                  "score(query, other key) to see why the head prefers one to the other.")
    try:
        split = cached.qk_split(session.request(), layer, head, query, key)
    except InterpError as e:
        st.info(str(e))
        return
    labels = cached.sae_labels(trace.model, split.sae) if split.sae else {}
    st.markdown(f"**Parts from:** {split.source}")
    m1, m2, m3 = st.columns(3)
    m1.metric("Pre-softmax score q·k/√d_head" if split.capped is None else "Score q·k/√d_head (before the cap)",
              f"{split.score:.4f}", None if split.capped is None else f"capped: {split.capped:.4f}", delta_color="off")
    m2.metric("Sum of all parts", f"{split.total:.4f}", f"{split.residual:+.1e}", delta_color="off")
    share = split.feature_share
    m3.metric("Feature × feature cells", "n/a" if split.sae is None else f"{split.feature_total:+.4f}",
              None if share != share else f"{share:.0%} of the score", delta_color="off",
              help="Can be above 100 % or negative: the other cells (error, biases) can push the other way.")
    norm = "LN" if split.norm_name == "LayerNorm" else "RMS"
    centring = " LayerNorm's centring is applied to every part." if split.norm_name == "LayerNorm" else ""
    rotary = any(n.startswith("Positions enter as a rotation") for n in split.notes)
    st.caption(
        f"score(i, j) = {'R_i' if rotary else ''}({norm}(x_i) W_Q + b_Q)·{'R_j' if rotary else ''}({norm}(x_j) W_K + b_K)"
        f" / √d_head{' (R: the rotary rotation of each position, linear, so it rotates each part)' if rotary else ''}. "
        f"Each position's {split.norm_name} scale is frozen at its actual value, so the score is bilinear in the two "
        "residuals, and writing each residual as a sum of parts (active SAE features: decoder vector × activation; the "
        "SAE's error; its decoder bias) splits it exactly into query part × key part cells, plus the query and key "
        f"biases.{centring} "
        + ("The model then soft-caps the score (monotone, not linear), so the cells split the score before the cap. "
           if split.capped is not None else "")
        + f"The softmax of the recomputed scores reproduces the trace's attention row to {split.pattern_error:.1e}."
        + ("".join(f" {n}" for n in split.notes) if split.notes else ""))
    st.markdown("**By group** (rows: query side, columns: key side)")
    st.dataframe(split.groups(), column_config={c: st.column_config.NumberColumn(format="%+.3f")
                                                for c in split.groups().columns})
    st.caption(f"The key-bias column (b_K, {split.key_independent:+.3f} here) is the same for every key of this query: it "
               "shifts the whole row and does not move attention. What decides where the head looks is how the cells "
               "differ between keys; compare two keys of the same query.")
    if split.sae:
        st.markdown("**Top feature pairs** (query feature × key feature, largest |contribution| first)")
        pairs = split.feature_pairs(labels, 10)
        st.dataframe(pairs[["query part", "query label", "key part", "key label", "contribution", "share of score"]],
                     hide_index=True, column_config={"contribution": st.column_config.NumberColumn(format="%+.4f"),
                                                     "share of score": st.column_config.NumberColumn(format="%+.3f")})
    if 0 <= other != key:
        _render_contrast(split, cached.qk_split(session.request(), layer, head, query, other), labels, labels_tok)
    with st.expander("Every cell (all parts, incl. error and biases)"):
        st.dataframe(split.pairs(labels).head(200), hide_index=True,
                     column_config={"contribution": st.column_config.NumberColumn(format="%+.4f")})


def _render_contrast(split, other, labels: dict, labels_tok) -> None:
    diff = contrast_pairs(split, other, labels)
    total = split.score - other.score
    ff = diff[(diff["query group"] == "features") & (diff["key group"] == "features")]["difference"].sum()
    st.markdown(f"**Why {labels_tok[split.key]} rather than {labels_tok[other.key]}**: score difference "
                f"{total:+.4f} (parts sum to {diff['difference'].sum():+.4f}); feature × feature cells carry "
                f"{ff:+.4f}" + (f" ({ff / total:.0%})" if total else "") + ".")
    st.dataframe(diff.head(10)[["query part", "query label", "key part", "key label", "difference"]], hide_index=True,
                 column_config={"difference": st.column_config.NumberColumn(format="%+.4f")})
