"""SAE-side questions about a loaded backend (torch): feature detail, splice health, config mismatches.

Implementation behind the backend's verbs of the same names (interp.backends.api): these use only the
backend primitives of interp.backends.common (sae(), unembed_matrix(), str_tokens(), has_hook(), run()).
None of them run the model except splice_metrics (three forward passes through backend.run).
"""
from __future__ import annotations

import numpy as np
import torch

from interp.requests import TraceRequest


def feature_activations(backend, sae_id: str, inputs: np.ndarray, feature: int) -> np.ndarray:
    """One feature's activation at every position, re-encoding the hook activations kept in the trace."""
    with torch.no_grad():
        return backend.sae(sae_id).encode(torch.from_numpy(np.array(inputs)))[:, feature].numpy()


def feature_logit_effects(backend, sae_id: str, feature: int, k: int = 10) -> dict:
    """Tokens the decoder direction promotes / suppresses through the unembedding: W_dec[f] @ W_U
    (direct effect only: the final LayerNorm's scale and later layers are ignored)."""
    with torch.no_grad():
        effect = backend.sae(sae_id).W_dec[feature] @ backend.unembed_matrix()  # [vocab]
        up, down = effect.topk(k), (-effect).topk(k)
    text = backend.str_tokens
    return {"promoted": [(text([int(i)])[0], float(v)) for v, i in zip(up.values, up.indices)],
            "suppressed": [(text([int(i)])[0], -float(v)) for v, i in zip(down.values, down.indices)]}


def decoder_norm(backend, sae_id: str, feature: int) -> float:
    with torch.no_grad():
        return float(backend.sae(sae_id).W_dec[feature].norm())


def splice_metrics(backend, request: TraceRequest, sae_id: str) -> dict:
    """Next-token cross-entropy over the prompt: clean, with the SAE's reconstruction spliced in at its hook
    (error term dropped), and with the error term kept (must equal clean); mean KL(clean || spliced).
    BOS is left untouched, as sae-lens excludes it when training."""
    sae = backend.sae(sae_id)
    tokens, _ = backend.to_tokens(request.prompt, request.max_tokens)
    if tokens.shape[1] < 2:
        return {}

    def splice(keep_error: bool):
        def hook(act, hook):
            x = act[:, 1:]
            recon = sae.decode(sae.encode(x))
            out = act.clone()
            out[:, 1:] = recon + (x - recon) if keep_error else recon
            return out
        return hook

    def ce(logp):
        return float(-logp[0, :-1].gather(-1, tokens[0, 1:, None]).mean())

    point = sae.cfg.metadata.hook_name
    clean, spliced, with_err = (torch.log_softmax(backend.run(tokens, fwd)[0].float(), -1)
                                for fwd in ((), [(point, splice(False))], [(point, splice(True))]))
    kl = (clean.exp() * (clean - spliced)).sum(-1)[0, 1:]
    return {"ce_clean": ce(clean), "ce_spliced": ce(spliced), "ce_with_error_term": ce(with_err),
            "kl_mean": float(kl.mean()), "kl_per_token": kl.numpy()}


def mismatch_warnings(backend, sae_id: str, n_pos: int) -> list[str]:
    """The common silent failure: an SAE used on a model loaded differently from how it was trained."""
    meta, spec = backend.sae(sae_id).cfg.metadata, backend.spec
    out = []
    expected = dict(meta.model_from_pretrained_kwargs or {})
    loaded = {"fold_ln": True, "center_writing_weights": True, "center_unembed": True, **spec.kwargs}
    for key, value in expected.items():
        if key in loaded and loaded[key] != value:
            out.append(f"The SAE expects the model loaded with {key}={value}, but it was loaded with {key}={loaded[key]}.")
    if not backend.has_hook(meta.hook_name):
        out.append(f"The SAE reads {meta.hook_name}, which this model does not have.")
    if meta.prepend_bos is False:
        out.append("The SAE was trained without BOS, but the app always prepends BOS.")
    if meta.context_size and n_pos > meta.context_size:
        out.append(f"The SAE was trained on {meta.context_size}-token contexts and this prompt has {n_pos} "
                   "positions: activations past that may be out of its training distribution.")
    return out


def all_feature_activations(backend, sae_id: str, inputs: np.ndarray) -> np.ndarray:
    """[pos, d_sae] every feature's activation, re-encoding the hook activations kept in the trace."""
    with torch.no_grad():
        return backend.sae(sae_id).encode(torch.from_numpy(np.array(inputs))).numpy()
