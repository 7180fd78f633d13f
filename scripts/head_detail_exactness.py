"""Exactness of the QK split, value-weighted norms and DLA over every cell/position of both embedded models
(the table in docs/head_detail.md; ~10 min on a busy 2-core machine).  HF_HUB_OFFLINE=1 python scripts/head_detail_exactness.py"""
import sys; from pathlib import Path; sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # noqa: E702
import numpy as np, torch, time
from interp.backends import load_backend
from interp.requests import TraceRequest
from interp.registry import REGISTRY
from interp.analysis import qk, dla, head_math
for name in ["tiny-induction", "tiny-austen-bible"]:
    t0=time.time()
    b=load_backend(name); tr=b.trace(TraceRequest(name, REGISTRY.get(name).default_prompt))
    with torch.no_grad():
        logits, cache = b.model.run_with_cache(torch.as_tensor(np.array(tr.tokens))[None])
    logits = logits[0].double()
    wq=wp=wv=wd=0.0; n=0; nd=0
    for l in range(tr.n_layers):
        real = cache[f"blocks.{l}.attn.hook_attn_scores"][0].double().numpy()
        w = head_math.HeadWeights.from_backend(b.head_weights(l))
        for h in range(tr.n_heads):
            for q in range(tr.n_pos):
                for k in range(q+1):
                    s=qk.qk_split(b,tr,l,h,q,k); wq=max(wq,abs(s.total-real[h,q,k])); wp=max(wp,s.pattern_error); n+=1
        vw = head_math.value_weighted_norms(tr.resid_stack[l], tr.attention[l], w)
        v = cache[f"blocks.{l}.attn.hook_v"][0].double(); pat = cache[f"blocks.{l}.attn.hook_pattern"][0].double()
        direct = (pat[..., None] * torch.einsum("phd,hdm->hpm", v, torch.as_tensor(w.W_O))[:, None]).norm(dim=-1).numpy()
        wv=max(wv, float(np.abs(vw-direct).max()))
    for p in range(tr.n_pos):
        for t in {int(logits[p].argmax()), int(tr.tokens[min(p+1,tr.n_pos-1)])}:
            a=dla.logit_attribution(b,tr,p,t); wd=max(wd,abs(a.values.sum()-float(logits[p,t]))); nd+=1
    print(f"{name}: {tr.n_pos} tokens; QK split {n} cells: max|sum-TL score| {wq:.1e}, max|softmax-trace| {wp:.1e}; value-weighted max|diff| {wv:.1e} (last layer's largest cell {vw.max():.2f}); DLA {nd} (pos,token): max|sum-logit| {wd:.1e}; {time.time()-t0:.0f}s")
