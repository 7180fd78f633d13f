"""Attention: one head as a query x key heatmap, every head at a glance, head types, bertviz."""
from functools import partial

import streamlit as st

from components import cached, presentation, session
from components.charts_ui import show
from components.head_ui import MODES, render_head_anatomy, render_value_weighted
from components.page import current_trace
from components.run_record_ui import record_panel
from interp.analysis.heads import head_scores
from interp.charts.attention import (BOS_MODES, SCORE_TITLES, attention_frame, attention_heatmap, color_cap, head_grid,
                                     head_scores_frame)
from interp.charts.bertviz_view import (DRAW_LIMIT_TOKENS, STALL_NOTE, BertvizUnavailable, head_view_html,
                                        model_view_html, sandboxed)

st.title("Attention patterns")
st.caption(
    "Each row is a query token and shows how its attention is spread over earlier tokens (rows sum to 1). "
    "Attention shows where information *can* move; it is not by itself an explanation of the output."
)
trace = current_trace()
# positions per heatmap: <= 9,216 cells, so the browser never stalls; fewer in presentation mode (16-px labels)
WINDOW = presentation.WINDOW_POSITIONS if presentation.on() else 96


left, mid, right = st.columns([1, 1, 2])
layer = left.selectbox("Layer", range(trace.n_layers), key=session.bind("attn_layer", 0, range(trace.n_layers)))
head = mid.selectbox("Head", range(trace.n_heads), key=session.bind("attn_head", 0, range(trace.n_heads)))
bos = right.radio("BOS / attention sink", list(BOS_MODES), horizontal=True, key=session.bind("attn_bos", "show", BOS_MODES),
                  format_func={"show": "show BOS", "hide": "hide BOS, renormalise", "cap": "cap colour"}.get)
window = None
if trace.n_pos > WINDOW:
    start = st.slider(f"Window: {WINDOW} of {trace.n_pos} positions, starting at", 0, trace.n_pos - WINDOW,
                      trace.n_pos - WINDOW, key=f"attn_window_{WINDOW}")
    window = (start, start + WINDOW)
    st.info(f"Long prompt: showing positions {start}-{start + WINDOW - 1}. Move the window to see the rest."
            + (f" Keys before position {start} (BOS included) are outside the window, so the rows drawn here sum "
               "to less than 1: the rest of each row's attention went to those earlier keys." if start > 0 else ""))
mode = st.radio("Colour by", list(MODES), horizontal=True, format_func=MODES.get, key=session.bind("attn_mode", "weight", MODES))
if mode == "sent":
    render_value_weighted(trace, layer, head, window)
else:
    frame = attention_frame(trace, layer, head, bos=bos, window=window)
    cap = color_cap(trace, layer, head) if bos == "cap" else 1.0
    show(attention_heatmap(frame, f"L{layer}H{head} · {BOS_MODES[bos]}", color_max=cap), fixed_width=True,
         export=f"attention_L{layer}H{head}")
st.caption("Grey cells are masked by causal attention (a token cannot attend to later tokens): not zero, not applicable.")
render_head_anatomy(trace, layer, head)

st.subheader("Every head at a glance")
probe = cached.probe_head_scores(trace.model)
scores = head_scores(trace.attention, trace.tokens)
table = head_scores_frame({**scores, "induction_probe": probe["induction"]})
score = st.radio("Score", list(SCORE_TITLES), horizontal=True, format_func=SCORE_TITLES.get,
                 key=session.bind("attn_score", "previous_token", SCORE_TITLES))
show(head_grid(table, score), export=f"head_scores_{score}")
st.caption("previous-token, duplicate-token, BOS sink and entropy are measured on your prompt; induction (probe) on "
           "[BOS] + 50 random tokens repeated once (an induction head needs repetition; about 0.5 is perfect there). "
           "Scores follow TransformerLens's head_detector.")
ranked = table.sort_values(score, ascending=score == "entropy", ignore_index=True)
st.dataframe(ranked[["head"] + list(SCORE_TITLES)], hide_index=True, selection_mode="single-row", key="attn_table",
             on_select=partial(session.open_picked_head, "attn_table", ranked["layer"].tolist(), ranked["head_index"].tolist()),
                      column_config={k: st.column_config.NumberColumn(v, format="%.3f") for k, v in SCORE_TITLES.items()})
st.caption("Pick a row to open that head above.")

st.subheader("bertviz")
st.caption(
    "bertviz's views of the same attention, drawn in your browser without any network: hover a token to see "
    "what it attends to (left) or what attends to it (right); click a head's colour box to show or hide it. "
    "The model view has one thumbnail per layer and head; click one to enlarge it. Weights are rounded to 3 decimals."
)
hide_bos = st.toggle("Hide BOS in bertviz", key=session.bind("bertviz_hide_bos", False),
                     help="Drops the BOS row and column. The other weights are not renormalised, so rows no longer sum to 1.")
dark = st.context.theme.type != "light"
draw = trace.n_pos <= DRAW_LIMIT_TOKENS or st.toggle(
    f"Draw bertviz for all {trace.n_pos} positions", key="bertviz_draw_long",
    help=f"Off above {DRAW_LIMIT_TOKENS} positions: {STALL_NOTE}")
if not draw:
    st.info(f"bertviz is not drawn for prompts over {DRAW_LIMIT_TOKENS} positions until you ask (toggle above): "
            f"{STALL_NOTE}")
BERTVIZ_VIEWS = {"head": "bertviz head view", "model": "bertviz model view"}
# one view at a time (a segmented control, kept in the link): tabs drew both, ~0.4 MB of SVG each, hidden or not
which = st.segmented_control("bertviz view", list(BERTVIZ_VIEWS), format_func=BERTVIZ_VIEWS.get,
                             key=session.bind("attn_bertviz", "head", BERTVIZ_VIEWS), label_visibility="collapsed",
                             on_change=session.keep_selected("attn_bertviz")) or "head"
if draw and which in BERTVIZ_VIEWS:
    name = BERTVIZ_VIEWS[which]
    try:
        view = (head_view_html(trace, layer, include_bos=not hide_bos, dark=dark) if which == "head" else
                model_view_html(trace, focus_layer=layer, include_bos=not hide_bos, dark=dark))
    except BertvizUnavailable as e:
        st.warning(str(e))
    else:
        for note in view.notes:
            st.info(note)
        # the model view is one block of thumbnails per layer: a 760-px frame showed layers 0-1 only
        height = min(view.height, 760 if which == "head" else 2400)
        st.iframe(sandboxed(view.html, height), height=height + 4, alt=name)  # same text -> no redraw on rerun
        st.caption(f"Layer{'s' if len(view.layers) > 1 else ''} {', '.join(map(str, view.layers))}; "
                   f"{view.n_bytes / 1e6:.2f} MB sent to the browser.")
record_panel(trace, "attention")
