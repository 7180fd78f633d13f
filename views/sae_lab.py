"""SAE lab: train a sparse autoencoder live, on a toy of superposition or on a real layer, and see what it learned."""
import numpy as np
import pandas as pd
import streamlit as st

from components import cached, session
from components.charts_ui import show
from components.sae_lab_ui import metrics_row, recovery_tables, toy_ui, train_ui
from interp.charts.sae_lab import cosine_heatmap, loss_chart, plane_chart, sweep_chart
from interp.errors import InterpError
from interp.registry import REGISTRY
from interp.sae_lab import toy as toy_lab
from interp.sae_lab.train import decoder_directions, evaluate, train

st.title("SAE lab")
st.caption("A sparse autoencoder (SAE) rewrites each input as a sparse sum of learned directions: a ReLU (or "
           "TopK) encoder, a linear decoder, and a loss = reconstruction error + a sparsity term. Train one here, "
           "with sae-lens's own SAE classes and trainer, and see whether it finds the features.")
top, stop = st.columns([5, 1], vertical_alignment="bottom")
preset = top.radio("Preset", ("toy", "real"), horizontal=True, key=session.bind("lab_preset", "toy", ("toy", "real")),
                   format_func={"toy": "Toy: n features in d < n dimensions", "real": "Real layer (embedded model)"}.get)
# Stop lives outside the training fragment: a click inside a fragment waits for that fragment's run to end,
# while a whole-page rerun interrupts it (Streamlit 1.67). The page then shows the run as far as it got.
stop.button("Stop training", key="lab_stop", help="Stops a run; the results are then for the SAE at that step.")
embedded = [m for m in REGISTRY.names() if REGISTRY.get(m).embedded]


def sparsity_name(cfg) -> str:
    return "L1 penalty" if cfg.arch == "standard" else "auxiliary (dead-latent) loss"


def data_for(preset: str):
    """(state key, d_in, batch source, scale, extra) for the chosen preset; stops the page on bad input."""
    if preset == "toy":
        st.markdown("Each input is a sparse sum of feature directions: feature *i* is on with its **frequency**; "
                    "when on, its value is **importance** × U(0, 1). With more features than dimensions they "
                    "cannot all be orthogonal: the features are in superposition.")
        toy = toy_ui()
        return "toy", toy.d, toy.batches(), None, toy
    a, b = st.columns(2)
    current = session.choice().model
    model = a.selectbox("Model", embedded, index=embedded.index(current) if current in embedded else 0, key="lab_model")
    hooks_ = [s.hook for s in REGISTRY.get(model).saes]
    hook = b.selectbox("Layer (residual stream)", hooks_, index=min(1, len(hooks_) - 1), key="lab_hook")
    data = cached.sae_lab_layer(model, hook)
    st.caption(f"{len(data.train):,} training and {len(data.eval):,} evaluation tokens at {hook}: held-out text "
               "(assets/heldout_sample.jsonl) that neither the model nor its shipped SAEs were trained on; BOS "
               "positions dropped. Inputs are scaled to mean norm √d_model while training, as sae-lens does.")
    return f"real:{model}:{hook}", data.train.shape[1], data.batches(), data.scale, (model, hook, data)


@st.fragment
def lab():
    try:
        key, d_in, batches, scale, extra = data_for(preset)
        cfg = train_ui(preset)
    except InterpError as e:
        st.error(str(e))
        return
    runs = session.lab_state()
    go = st.button("Train", type="primary", key="lab_train")
    if go:
        bar, chart = st.progress(0.0, text="Starting…"), st.empty()
        runs.pop(key, None)
        for p in train(cfg, d_in, batches, scale):  # "Stop training" reruns the page, which ends this loop
            runs[key] = {"cfg": cfg, "progress": p, "extra": extra}
            bar.progress(p.step / p.steps, text=f"step {p.step:,} of {p.steps:,} · {p.seconds:.1f} s")
            with chart.container():
                show(loss_chart(p.history, sparsity_name(cfg)))
        bar.empty()
        chart.empty()
    run = runs.get(key)
    if run is None:
        st.info("Press **Train**.")
        return
    p, cfg = run["progress"], run["cfg"]
    if not p.done:
        st.warning(f"Stopped at step {p.step:,} of {p.steps:,}: the results are for the SAE at that step.")
    st.caption(f"Trained {p.step:,} steps of {cfg.batch} inputs in {p.seconds:.1f} s · {cfg.penalty} · "
               f"{cfg.d_sae} latents · lr {cfg.lr:g} · seed {cfg.seed}. Loss terms in training units.")
    show(loss_chart(p.history, sparsity_name(cfg)), export="sae_lab_loss")
    if key == "toy":
        toy_results(run)
    else:
        real_results(run)


def toy_results(run):
    toy, w, cfg = run["extra"], run["progress"].weights, run["cfg"]
    if "eval" not in run:
        run["eval"] = toy_lab.evaluate_toy(toy, w)
    r = run["eval"]
    found = sum(x["cosine"] >= 0.9 for x in r["recovery"])
    metrics_row(r, {"Features recovered (cosine ≥ 0.9)": f"{found} of {toy.n_features}"})
    st.caption(f"On {toy_lab.EVAL_SAMPLES:,} fresh inputs. The data have {r['data_l0']:.2f} active features per "
               "input on average (most inputs are empty), the ideal L0.")
    left, right = st.columns(2)
    with left:
        if toy.d == 2:
            show(plane_chart(toy.directions(), toy.names, decoder_directions(w), r["fires"]), fixed_width=True)
    with right:
        show(cosine_heatmap(r["cos"], toy.names), export="sae_lab_cosines")
    recovery_tables(r, toy.names)
    st.markdown("**Sweep: the sparsity / reconstruction trade-off**")
    st.caption("One run per penalty value, with the same seed, steps and learning rate. A weak penalty "
               "reconstructs well with latents that mix features; a strong one finds the features but shrinks "
               "small values (lower explained variance).")
    if st.button("Run the sweep", key="lab_sweep"):
        with st.spinner("Training one SAE per penalty value…"):
            run["sweep"] = toy_lab.sweep(toy, cfg)
    if "sweep" in run:
        show(sweep_chart(run["sweep"]), export="sae_lab_sweep")
        st.dataframe(pd.DataFrame(run["sweep"]), hide_index=True)


def real_results(run):
    model, hook, data = run["extra"]
    w = run["progress"].weights
    if "eval" not in run:
        run["eval"] = evaluate(w, data.eval)
    m = run["eval"]
    if "ce" not in run:
        with st.spinner("Splicing the SAE into the model on held-out windows…"):
            run["ce"] = cached.sae_lab_ce(model, data, w)
    ce = run["ce"]
    metrics_row(m, {"CE loss recovered": f"{ce['ce_recovered']:.3f}"})
    st.caption(f"On the evaluation tokens. Next-token cross-entropy: clean {ce['ce_clean']:.3f}, SAE spliced in "
               f"{ce['ce_spliced']:.3f}, layer mean-ablated {ce['ce_ablated']:.3f}; recovered = (ablated − spliced) / "
               "(ablated − clean).")
    shipped_w, labels = cached.sae_lab_shipped(model, hook)
    from interp.sae_lab.real import closest_shipped

    rows = pd.DataFrame(closest_shipped(w, shipped_w, labels, m["fires"]))
    st.markdown(f"**Each learned latent: the closest feature of the shipped SAE at {hook}** (decoder cosine; "
                "sorted by how often the latent fires)")
    st.metric("Median best cosine", f"{np.median(rows['cosine']):.3f}")
    st.dataframe(rows, hide_index=True, column_config={
        "fires": st.column_config.NumberColumn(format="%.4f"), "cosine": st.column_config.NumberColumn(format="%.3f")})


lab()
