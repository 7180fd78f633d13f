"""The head-view section of tests/gemma_probe.py (its SECTIONS["head_detail"]), kept apart for size: the QK
split, direct logit attribution, value-weighted norms and head anatomy on the reduced Gemma 2, against
TransformerLens's own hooks and Hugging Face's logits. Runs inside the probe's offline subprocess."""
from __future__ import annotations


def head_detail(b, info) -> dict:
    """The QK split, direct logit attribution, value-weighted norms and head anatomy on Gemma 2 (rotary, grouped
    query heads, soft-capped scores, sliding windows, RMSNorm before and after attention) against TL's own hooks
    and Hugging Face's logits."""
    import numpy as np
    import torch

    from interp.analysis import head_math
    from interp.errors import BadInput
    from interp.requests import TraceRequest
    from tests.gemma_probe import PROMPT, _hf

    t = b.trace(TraceRequest(info["model"], PROMPT, saes=tuple(s.id for s in b.spec.saes), top_k=1))
    cfg = b.model.cfg
    group = cfg.n_heads // cfg.n_key_value_heads
    names = lambda n: n.startswith("blocks.") and n.rsplit(".", 1)[-1] in {  # noqa: E731
        "hook_rot_q", "hook_rot_k", "hook_attn_scores", "hook_v", "hook_z", "hook_scale", "hook_attn_out",
        "hook_mlp_out", "hook_pattern"}
    with torch.no_grad():
        _, cache = b.model.run_with_cache(torch.tensor(t.tokens)[None], names_filter=names)
        hf_logits = _hf(info)(torch.tensor(t.tokens)[None]).logits[0].double().numpy()
    c = lambda name: cache[name][0].double().numpy()  # noqa: E731
    n = t.n_pos
    out = {"n_pos": n, "qk": [], "dla": [], "layers": []}
    raw_err = cap_err = pattern_err = total_cells = 0.0
    for l in range(cfg.n_layers):
        rq, rk = c(f"blocks.{l}.attn.hook_rot_q"), c(f"blocks.{l}.attn.hook_rot_k")  # [pos, head|kv_head, d]
        rk = np.repeat(rk, group, axis=1)  # key/value head h // group serves query head h (HF's repeat_kv)
        tl_scores = c(f"blocks.{l}.attn.hook_attn_scores")  # [head, q, k] capped and masked
        w = head_math.HeadWeights.from_backend(b.head_weights(l))
        layer = {"layer": l, "window": w.window, "softcap": w.softcap, "rotary_dim": w.rotary_dim,
                 "n_kv_heads": w.n_kv_heads, "notes": list(w.notes(1))}
        for h in range(cfg.n_heads):
            for q in (n - 1, 10):
                for k in range(q + 1):
                    if not w.visible(q, k):
                        continue
                    s = b.qk_split(t, l, h, q, k)
                    raw = float(rq[q, h] @ rk[k, h] / cfg.attn_scale)
                    raw_err = max(raw_err, abs(s.total - raw), abs(s.score - raw))
                    cap_err = max(cap_err, abs(s.capped - float(tl_scores[h, q, k])))
                    pattern_err = max(pattern_err, s.pattern_error)
                    total_cells += 1
                    if (h, q) == (1, n - 1) and k == n - 1:
                        out["qk"].append({"layer": l, "source": s.source, "q_groups": sorted(set(s.q_parts.groups)),
                                          "raw": raw, "capped": s.capped, "tl_capped": float(tl_scores[h, q, k]),
                                          "feature_share": s.feature_share, "notes": list(s.notes),
                                          "norm": s.norm_name})
        # value-weighted: pattern x ||v_j W_O * post_w / rms(attn_out_i)|| from TL's hooks
        v = np.repeat(c(f"blocks.{l}.attn.hook_v"), group, axis=1)  # [pos, head, d_head]
        W_O = b.model.blocks[l].attn.W_O.detach().double().numpy()
        post_w = b.model.blocks[l].ln1_post.w.detach().double().numpy()
        scale = c(f"blocks.{l}.ln1_post.hook_scale")  # [pos, 1]
        sent = np.einsum("khd,hdm->hkm", v, W_O)  # [head, k, d_model]
        pat = c(f"blocks.{l}.attn.hook_pattern")
        mine, _ = b.value_weighted(t, l)
        theirs = pat * np.linalg.norm(sent[:, None] * (post_w / scale)[None, :, None], axis=-1)
        layer["value_weighted_err"] = float(np.abs(mine - theirs).max())
        layer["value_weighted_max"] = float(theirs.max())
        # each head's share through ln1_post, against hook_z W_O scaled by TL's own ln1_post scale
        z = c(f"blocks.{l}.attn.hook_z")  # [pos, head, d_head]
        w_err = sum_err = mlp_err = 0.0
        for pos in (n - 1, 5):
            per_head, bias = head_math.written(t.resid_stack[l], t.attention[l], w, pos)
            tl_heads = np.einsum("hd,hdm->hm", z[pos], W_O) * post_w / scale[pos]
            w_err = max(w_err, float(np.abs(per_head - tl_heads).max()))
            sum_err = max(sum_err, float(np.abs(per_head.sum(0) + bias - c(f"blocks.{l}.hook_attn_out")[pos]).max()))
            mlp = t.resid_stack[l + 1][pos] - t.resid_stack[l][pos] - per_head.sum(0) - bias
            mlp_err = max(mlp_err, float(np.abs(mlp - c(f"blocks.{l}.hook_mlp_out")[pos]).max()))
        layer.update(head_share_err=w_err, attn_out_err=sum_err, mlp_err=mlp_err)
        an = b.head_anatomy(t, l, 1, n - 1)
        vis = an.steps["masked"] == ""
        layer["anatomy"] = {"pattern_error": an.pattern_error, "visible": int(vis.sum()),
                            "columns": list(an.steps.columns),
                            "capped_err": float(np.abs(an.steps.loc[vis, "soft-capped"].to_numpy()
                                                       - tl_scores[1, n - 1, vis.to_numpy()]).max())}
        out["layers"].append(layer)
    out.update(qk_raw_err=raw_err, qk_capped_err=cap_err, qk_pattern_err=pattern_err, qk_cells=total_cells,
               attn_scale=float(cfg.attn_scale))
    try:
        b.qk_split(t, 0, 1, n - 1, 0)
        out["outside_window"] = None
    except BadInput as e:
        out["outside_window"] = str(e)
    for pos in (n - 1, 5, 0):
        top = int(np.argmax(hf_logits[pos]))
        for token in {top, int(t.tokens[pos + 1]) if pos + 1 < n else top}:
            att = b.logit_attribution(t, pos, token)
            out["dla"].append({"pos": pos, "token": token, "residual": att.residual, "logit": att.logit,
                               "capped": att.capped, "hf": float(hf_logits[pos, token]),
                               "capped_err": abs(att.capped - float(hf_logits[pos, token])),
                               "kinds": sorted(set(att.kinds)), "n_heads": att.kinds.count("head"),
                               "norm": att.norm_name, "pre_cap_abs": abs(att.logit)})
    return out
