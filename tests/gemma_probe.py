"""Runs the app's own code on the reduced Gemma 2 (tests/gemma_cache.py) in a process that sees only that cache,
and prints one JSON line: `python -m tests.gemma_probe SECTION...` with tests.hub_cache.offline_env(info) and
GEMMA_INFO=<json of build_gemma_cache's result> (run_gemma_probe does this). There every socket
connection is refused and recorded.

Each section is a function (backend, info) -> dict of plain numbers, so a new check (the QK split, direct
logit attribution) is one more function in SECTIONS and one more test reading its dict; the head views' section
lives in tests/gemma_head_probe.py.
"""
from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

from tests.gemma_head_probe import head_detail

MARK = "GEMMAPROBE "
PROMPT = "The old man gave the young girl a red apple and a silver coin by the river."  # 27 tokens > window 6
SAE_LAYER = 2  # attribution / steering SAE: resid_post of layer 2 (three blocks before it)
_attempts: list[str] = []


def _refuse(*args, **kwargs):
    _attempts.append(repr(args[1:] if args and isinstance(args[0], socket.socket) else args)[:200])
    raise OSError("network access attempted in an offline test")


def _hf(info, **overrides):
    from transformers import Gemma2ForCausalLM

    return Gemma2ForCausalLM.from_pretrained(info["model_snapshot"], attn_implementation="eager", **overrides).eval()


def _maxdiff(a, b) -> float:
    import torch

    return float((torch.as_tensor(a).float() - torch.as_tensor(b).float()).abs().max())


def faithfulness(b, info) -> dict:
    """TL (through the backend) against Hugging Face eager attention of the same weights."""
    import torch

    from interp.requests import TraceRequest

    t = b.trace(TraceRequest(info["model"], PROMPT))
    tokens = torch.tensor(t.tokens)[None]
    out = {"n_pos": t.n_pos, "attn_types": list(b.model.cfg.attn_types), "window": b.model.cfg.window_size,
           "cfg": {k: getattr(b.model.cfg, k) for k in ("n_layers", "d_model", "n_heads", "n_key_value_heads",
                                                       "attn_scores_soft_cap", "output_logits_soft_cap")}}
    with torch.no_grad():
        hf = _hf(info)
        o = hf(tokens, output_attentions=True)
        hf_att = torch.stack([a[0] for a in o.attentions])  # [layer, head, q, k]
        out["attention_max_err"] = _maxdiff(t.attention, hf_att)
        out["logits_max_err"] = _maxdiff(b.logits(tokens)[0], o.logits[0])
        out["logits_abs_max"] = float(o.logits.abs().max())
        out["next_logprob_max_err"] = _maxdiff(t.next_token_logprobs, torch.log_softmax(o.logits[0, -1], -1))
        # the features under test act on this prompt: without them HF's own numbers move
        no_cap = _hf(info, attn_logit_softcapping=None)(tokens, output_attentions=True)
        out["attention_change_without_softcap"] = _maxdiff(torch.stack([a[0] for a in no_cap.attentions]), hf_att)
        no_win = _hf(info, sliding_window=info["n_ctx"])(tokens, output_attentions=True)
        out["attention_change_without_window"] = _maxdiff(torch.stack([a[0] for a in no_win.attentions]), hf_att)
        out["logits_change_without_cap"] = _maxdiff(_hf(info, final_logit_softcapping=None)(tokens).logits, o.logits)
    # the logit lens of the last residual is the model's own (soft-capped) next-token distribution
    lens = b.logit_lens(t, k=5)
    top = torch.softmax(o.logits[0].float(), -1).topk(5, dim=-1)
    out["lens_last_prob_err"] = _maxdiff(lens.top_prob[-1], top.values)
    out["lens_last_idx_equal"] = bool((torch.from_numpy(lens.top_idx[-1]).long() == top.indices).all())
    with torch.no_grad():  # every position, every token (the top-5 above are near one-hot on this model)
        out["lens_last_logits_err"] = _maxdiff(b.logit_lens_logits(torch.from_numpy(t.resid_stack[-1])[None])[0], o.logits[0])
    # sliding layers attend to at most `window` keys; global ones to every earlier key
    att = t.attention
    out["max_keys_per_layer"] = [int((att[l] > 0).sum(-1).max()) for l in range(att.shape[0])]
    return out


def saes(b, info) -> dict:
    """sae-lens's encode on TL's activation at each SAE's hook, against the trace and the JumpReLU by hand."""
    import numpy as np
    import torch

    from interp.requests import TraceRequest

    spec = b.spec
    ids = tuple(s.id for s in spec.saes)
    t = b.trace(TraceRequest(info["model"], PROMPT, saes=ids, top_k=16))
    out = {}
    for s in spec.saes:
        sae = b.sae(s.id)
        with torch.no_grad():
            _, cache = b.model.run_with_cache(torch.tensor(t.tokens)[None], names_filter=lambda h: h == s.hook)
            x = cache[s.hook][0]
            feats = sae.encode(x)  # [pos, d_sae]
        snap = Path(info["sae_snapshot"])
        with np.load(next(snap.glob(f"layer_{s.layer}/width_16k/*/params.npz"))) as p:
            W_enc, b_enc, thr = (torch.from_numpy(p[k]) for k in ("W_enc", "b_enc", "threshold"))
        pre = x @ W_enc + b_enc
        by_hand = torch.where(pre > thr, pre, torch.zeros_like(pre))
        a = t.saes[s.id]
        k = a.top_idx.shape[1]
        out[s.id] = {
            "hook": a.hook, "architecture": sae.cfg.architecture(), "d_in": sae.cfg.d_in, "d_sae": sae.cfg.d_sae,
            "inputs_err": _maxdiff(a.inputs, x),
            "encode_vs_by_hand": _maxdiff(feats, by_hand),
            "top_act_err": _maxdiff(a.top_act, feats.topk(k, -1).values),
            "l0_equal": bool((torch.from_numpy(np.array(a.l0)).long() == (feats > 0).sum(-1)).all()),
            "fire_share": float((feats[1:] > 0).float().mean()),
            "below_threshold_positive": int(((pre > 0) & (pre <= thr)).sum()),  # a plain ReLU would keep these
        }
    return out


def steering(b, info) -> dict:
    """add / clamp / ablate at the layer-2 SAE move its hook's activation by exactly (change) * W_dec[f]."""
    import numpy as np

    from interp.requests import FeatureSteer, TraceRequest

    sid = b.spec.saes[SAE_LAYER].id
    base = b.trace(TraceRequest(info["model"], PROMPT, saes=(sid,), top_k=1))
    acts = base.saes[sid]
    pos = int(np.argmax(acts.top_act[1:, 0])) + 1
    f, a = int(acts.top_idx[pos, 0]), float(acts.top_act[pos, 0])
    W = b.sae(sid).W_dec[f].detach().numpy()
    out = {"feature": f, "pos": pos, "act": a}
    for mode, alpha, change in (("add", 8.0, 8.0), ("clamp", 3 * a, 2 * a), ("ablate", 0.0, -a)):
        req = TraceRequest(info["model"], PROMPT, (sid,), (FeatureSteer(sid, f, alpha, mode, pos, pos + 1),), top_k=1)
        st = b.trace(req)
        delta = np.array(st.saes[sid].inputs) - np.array(acts.inputs)
        out[mode] = {"delta_err": float(np.abs(delta[pos] - change * W).max()),
                     "others_max": float(np.abs(np.delete(delta, pos, 0)).max()),
                     "next_token_change": float(np.abs(st.next_token_logprobs - base.next_token_logprobs).max())}
    same = b.trace(TraceRequest(info["model"], PROMPT, (sid,), (FeatureSteer(sid, f, a, "clamp", pos, pos + 1),)))
    out["clamp_to_own_value_change"] = float(np.abs(same.next_token_logprobs - base.next_token_logprobs).max())
    return out


def attribution(b, info) -> dict:
    """The feature split over embeddings, heads and MLPs sums to sae-lens's pre-activation."""
    import numpy as np

    from interp.attribution import attribute_feature
    from interp.requests import TraceRequest

    sid = b.spec.saes[SAE_LAYER].id
    t = b.trace(TraceRequest(info["model"], PROMPT, saes=(sid,), top_k=1))
    out = []
    for pos in (t.n_pos - 1, 5):
        f = int(t.saes[sid].top_idx[pos, 0])
        fa = attribute_feature(b, PROMPT, sid, f, pos)
        heads = [i for i, k in enumerate(fa.kinds) if k == "head"]
        src_err = max(abs(float(fa.source_values[fa.layers[i], fa.heads[i]].sum()) - float(fa.values[i])) for i in heads)
        out.append({"pos": pos, "feature": f, "residual": fa.residual, "pre": fa.pre_activation,
                    "activation": fa.activation, "kinds": sorted(set(fa.kinds)), "n_heads": len(heads),
                    "source_sum_err": src_err, "notes": list(fa.notes),
                    "share_scale": float(np.abs(fa.values).max())})
    return {"cases": out}


def generation(b, info) -> dict:
    """Decoding with TL's KV cache, past the sliding window, against Hugging Face's full forward at every step:
    the same sampler (interp.generation._sample) with the same seed must draw the same tokens from both."""
    import numpy as np
    import torch

    from interp.generation import _sample, generate, per_token_kl
    from interp.requests import FeatureSteer, GenerateRequest, TraceRequest

    sid = b.spec.saes[SAE_LAYER].id
    req = TraceRequest(info["model"], PROMPT, (sid,))
    hf = _hf(info)
    out = {}
    for name, greq in (("greedy", GenerateRequest(req, 12, temperature=0.0)),
                       ("sampled", GenerateRequest(req, 12, temperature=1.0, seed=3))):
        g = generate(b, greq)
        gen = torch.Generator().manual_seed(greq.seed)
        ids = list(g.tokens[: g.prompt_tokens])
        with torch.no_grad():
            while len(ids) < len(g.tokens):
                ids.append(_sample(hf(torch.tensor([ids])).logits[0, -1].float(), greq, gen))
        out[name] = {"tl": list(g.tokens), "hf": ids, "new_distinct": len(set(g.tokens[g.prompt_tokens:])),
                     "text": g.text}
    out["prompt_tokens"] = g.prompt_tokens
    # the step generate() runs for TL-only architectures, fed a varied text one token at a time, against HF
    from transformer_lens import TransformerLensKeyValueCache

    ids = b.to_tokens(PROMPT + " " + PROMPT, 256)[0]
    cache = TransformerLensKeyValueCache.init_cache(b.model.cfg, b.model.cfg.device, 1)
    with torch.no_grad():
        steps = [b.model(ids[:, :8], past_kv_cache=cache)[0]]
        steps += [b.model(ids[:, i : i + 1], past_kv_cache=cache)[0] for i in range(8, ids.shape[1])]
        out["cached_decode_max_err"] = _maxdiff(torch.cat(steps), hf(ids).logits[0])
    out["cached_decode_positions"] = int(ids.shape[1])
    t = b.trace(TraceRequest(info["model"], PROMPT, (sid,), top_k=1))
    f = int(t.saes[sid].top_idx[-1, 0])
    steer = FeatureSteer(sid, f, 1000.0, "add", g.prompt_tokens)  # generated tokens only
    sreq = GenerateRequest(TraceRequest(info["model"], PROMPT, (sid,), (steer,)), 12, temperature=1.0, seed=3)
    gs = generate(b, sreq)
    kl = per_token_kl(b, gs.tokens, (steer,), gs.prompt_tokens)
    out["steered"] = {"tokens": list(gs.tokens), "differs": gs.tokens != tuple(out["sampled"]["tl"]),
                      "first_new_same": gs.tokens[g.prompt_tokens] == out["sampled"]["tl"][g.prompt_tokens],
                      "kl_first": float(kl[0]), "kl_later_max": float(np.max(kl[1:]))}
    return out


def app(b, info) -> dict:
    """Every page in AppTest with the reduced Gemma selected (its own cached backend, as a user gets it)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=120)
    at.query_params["model"] = info["model"]
    at.query_params["sae"] = b.spec.saes[1].id
    at.query_params["prompt"] = PROMPT
    at.query_params["attn_anatomy"] = "true"  # the head anatomy section, open
    at.run()
    views = {"first": {"exceptions": [e.value for e in at.exception], "errors": [e.value for e in at.error],
                       "warnings": [w.value for w in at.warning], "infos": [i.value for i in at.info],
                       "metrics": [m.label for m in at.metric]}}
    for view in ("views/attention.py", "views/residual_stream.py", "views/sae_features.py", "views/compare.py",
                 "views/compare.py#qk"):
        if view.endswith("#qk"):  # the compare page's QK view (one view at a time)
            at.segmented_control(key="compare_view").set_value("qk").run()
        else:
            at.switch_page(view).run()
        views[view] = {"exceptions": [e.value for e in at.exception], "errors": [e.value for e in at.error],
                       "warnings": [w.value for w in at.warning], "infos": [i.value for i in at.info],
                       "metrics": [m.label for m in at.metric],
                       "titles": [t.value for t in at.title], "charts": len(at.get("vega_lite_chart"))}
    return {"views": views, "model": at.query_params.get("model"), "sae": at.query_params.get("sae")}


def run_gemma_probe(info: dict, *sections: str) -> dict:
    """From a test: run the sections (all by default) in a subprocess that sees only the cache in `info`."""
    import subprocess

    from tests.hub_cache import offline_env

    env = dict(offline_env(info), GEMMA_INFO=json.dumps(info), OMP_NUM_THREADS="1")  # see test_gemma_path
    proc = subprocess.run([sys.executable, "-m", "tests.gemma_probe", *sections], cwd=Path(__file__).resolve().parent.parent,
                          env=env, capture_output=True, text=True, timeout=600)
    lines = [line for line in proc.stdout.splitlines() if line.startswith(MARK)]
    assert proc.returncode == 0 and lines, f"probe failed (rc {proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return json.loads(lines[-1][len(MARK):])


SECTIONS = {f.__name__: f for f in (faithfulness, saes, steering, attribution, generation, head_detail, app)}


def main(names: list[str]) -> None:
    import time

    socket.socket.connect = socket.socket.connect_ex = socket.create_connection = _refuse  # this process only

    from tests.gemma_cache import register

    info = json.loads(os.environ["GEMMA_INFO"])
    register(info)
    from interp.backends import load_backend

    t0 = time.perf_counter()
    b = load_backend(info["model"])
    out = {"load_s": time.perf_counter() - t0, "sections": {}, "seconds": {}}
    for name in names or list(SECTIONS):
        t0 = time.perf_counter()
        out["sections"][name] = SECTIONS[name](b, info)
        out["seconds"][name] = time.perf_counter() - t0
    out["network_attempts"] = _attempts
    print(MARK + json.dumps(out), flush=True)



if __name__ == "__main__":
    main(sys.argv[1:])

