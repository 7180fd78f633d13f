"""What both backends share: the trace, SAE loading and encoding, the SAE-side questions, generation and KL.

A backend subclass provides the primitives (see BaseBackend's "primitives" section): tokens, one forward
pass with TransformerLens-named hooks and records under the lock, the unembedding, and a decode loop.
Everything here is written against those, so a Trace means the same on every backend.
"""
from __future__ import annotations

import os
import threading
import warnings

import numpy as np
import torch
from sae_lens import SAE

from interp import hooks
from interp.backends.head_detail import HeadDetailVerbs
from interp.backends.lab import LabVerbs
from interp.backends.sweeps import SweepVerbs
from interp.backends.api import (AttributionRequest, HeadProbeRequest, KLRequest, ModelInfo, SpliceRequest)
from interp.errors import BadInput, LoadError
from interp.lru import BoundedLRU
from interp.registry import ModelSpec, SAESpec
from interp.requests import GenerateRequest, TraceRequest
from interp.steering import steering_hooks
from interp.trace import LogitLens, SAEActivations, Trace


def load_sae(spec: SAESpec) -> SAE:
    try:
        if spec.path is not None:
            if not (spec.path / "cfg.json").exists():
                raise LoadError(f"SAE folder {spec.path.name!r} is missing or incomplete.")
            with warnings.catch_warnings():
                # sae-lens suggests from_pretrained_no_processing whenever model_from_pretrained_kwargs is set;
                # the embedded model is loaded with from_pretrained, which gives the same residual stream.
                warnings.filterwarnings("ignore", message=r"\s*This SAE has non-empty model_from_pretrained_kwargs")
                sae = SAE.load_from_disk(str(spec.path), device="cpu")
        else:
            sae = SAE.from_pretrained(spec.release, spec.sae_id, device="cpu")
    except LoadError:
        raise
    except Exception as e:  # corrupt weights, wrong shapes, hub down: one sentence for the UI
        raise LoadError(f"Could not load SAE {spec.id!r}: {type(e).__name__}: {e}") from e
    if sae.cfg.metadata.hook_name != spec.hook:
        raise LoadError(f"SAE {spec.id!r} reads {sae.cfg.metadata.hook_name!r}, but the registry says {spec.hook!r}.")
    sae.eval()
    return sae


def _nbytes(module) -> int:
    return sum(t.numel() * t.element_size() for t in module.state_dict().values())


SPARSE_DECODE_BELOW = 0.01  # share of non-zero latents under which the decode multiplies a sparse matrix


def _decode(sae: SAE, feats: torch.Tensor, nonzero: int) -> torch.Tensor:
    """sae.decode(feats), handing sae-lens a sparse matrix when few latents are active: for a 24,576-latent SAE
    with ~64 active per token, 4.5 ms instead of 30 ms at 128 tokens (the dense product multiplies zeros).
    The embedded SAEs (k=32 of 384-2,048) stay dense, where sparse is not faster. Any SAE class whose decode
    does not take a sparse matrix gets the dense one."""
    if nonzero < SPARSE_DECODE_BELOW * feats.numel() and feats.dim() == 2:
        try:
            return sae.decode(feats.to_sparse())
        except (RuntimeError, NotImplementedError, TypeError):
            pass
    return sae.decode(feats)


def sae_activations(sae_id: str, sae: SAE, x: torch.Tensor, k: int) -> SAEActivations:
    """x: [pos, d_model] at the SAE's hook."""
    with torch.no_grad():
        feats = sae.encode(x)  # [pos, d_sae]
        l0 = (feats > 0).sum(-1)
        recon = _decode(sae, feats, int(l0.sum()))
    k = min(k, feats.shape[-1])
    top = feats.topk(k, dim=-1)
    err = (x - recon).norm(dim=-1)
    body = slice(1, None) if x.shape[0] > 1 else slice(None)  # BOS excluded, as sae-lens evals do
    xb = x[body]
    fvu = float(((x - recon)[body] ** 2).sum() / ((xb - xb.mean(0)) ** 2).sum().clamp_min(1e-12))
    return SAEActivations(
        sae=sae_id, hook=sae.cfg.metadata.hook_name, d_sae=int(feats.shape[-1]),
        top_idx=top.indices.numpy().astype(np.int32), top_act=top.values.float().numpy(),
        l0=l0.numpy().astype(np.int32), total_act=feats.sum(-1).float().numpy(),
        error_norm=err.float().numpy(), input_norm=x.norm(dim=-1).float().numpy(), fvu=fvu,
        inputs=x.float().numpy(),
    )


class BaseBackend(HeadDetailVerbs, LabVerbs, SweepVerbs):
    """trace(request) -> Trace and the other verbs of interp.backends.api.ModelBackend. Keeps loaded resources
    (model, SAEs), never the last run."""

    backend_name = "base"
    max_loaded_saes = 4
    # SAE weights kept loaded, in bytes: one gpt2-small-res-jb SAE is 151 MB (24,576 x 768, encoder and
    # decoder), so four of them would add 600 MB to a 1.3 GB process; the embedded ones are < 1 MB each.
    max_sae_bytes = int(float(os.environ.get("INTERP_SAE_CACHE_MB", "320")) * 2**20)

    def __init__(self, spec: ModelSpec):
        self.spec = spec
        # One lock for every forward pass: hooks live on the shared modules, so one session's hooks
        # would otherwise fire in another session's pass.
        self.lock = threading.RLock()
        self._saes = BoundedLRU(self.max_sae_bytes, max_items=self.max_loaded_saes, size=_nbytes)  # id -> SAE
        self._token_text: dict[int, str] = {}  # id -> its text (str_tokens)
        self.forward_passes = 0  # counted so tests can prove a page switch runs none

    # --- primitives (each backend) ----------------------------------------------------------
    @property
    def info(self) -> ModelInfo:
        raise NotImplementedError

    def to_tokens(self, prompt: str, max_tokens: int) -> tuple[torch.Tensor, list[str]]:
        """[1, pos] tokens with BOS, truncated to min(max_tokens, n_ctx) with a notice."""
        raise NotImplementedError

    def _decode_ids(self, ids: list[int]) -> str:
        raise NotImplementedError

    def run(self, tokens: torch.Tensor, fwd_hooks=(), record=frozenset(), last_logits_only=False):
        """One forward pass under the lock, counted: (logits [1, pos or 1, vocab], {TL hook name: [1, ...]}).
        fwd_hooks: [(TL hook name, fn(act, hook) -> act)]."""
        raise NotImplementedError

    def unembed_matrix(self) -> torch.Tensor:
        """[d_model, vocab] as the residual stream reads it (centred when the model was loaded centred)."""
        raise NotImplementedError

    def logit_lens_logits(self, resid: torch.Tensor) -> torch.Tensor:
        """Final LayerNorm applied to a residual vector (its own scale), then the unembedding."""
        raise NotImplementedError

    def decode_session(self, steering, pos_offset):
        """Context manager under the lock yielding step(tokens [1, n]) -> logits [1, n or 1, vocab] that
        continues from the tokens given before (generation), steered by `steering`; pos_offset() is the
        absolute position of the first token of the step being run."""
        raise NotImplementedError

    def has_hook(self, name: str) -> bool:
        raise NotImplementedError

    def attribute(self, request: AttributionRequest):
        raise BadInput(f"Splitting a feature over heads is not available on the {self.backend_name} backend.")

    # --- resources ---------------------------------------------------------------------------
    @property
    def n_ctx(self) -> int:
        return self.info.n_ctx

    def sae(self, sae_id: str) -> SAE:
        """Load SAEs lazily, keeping the most recently used ones: at most `max_loaded_saes`, and no more than
        `max_sae_bytes` of weights (the one asked for is kept even when it alone is over)."""
        def load():
            sae = load_sae(self.spec.sae(sae_id))
            if sae.cfg.d_in != self.info.d_model:
                raise LoadError(f"SAE {sae_id!r} expects width {sae.cfg.d_in}, the model has {self.info.d_model}.")
            return sae

        with self.lock:  # one load of a given SAE at a time
            return self._saes.get(sae_id, load)

    def str_tokens(self, ids) -> tuple[str, ...]:
        """Each id decoded on its own (TL's to_str_tokens), for a sequence of ids (or a 1-d tensor), memoised per
        id: decoding 256 ids one call at a time was ~1 ms of every trace."""
        out = []
        for i in (ids.tolist() if isinstance(ids, torch.Tensor) else ids):
            i = int(i)
            text = self._token_text.get(i)
            if text is None:
                text = self._token_text[i] = self._decode_ids([i])
            out.append(text)
        return tuple(out)

    def decode(self, ids) -> str:
        """The text of a sequence of ids, decoded together."""
        return self._decode_ids([int(i) for i in ids])

    # --- the verbs ------------------------------------------------------------------------------
    def trace(self, request: TraceRequest) -> Trace:
        L = self.info.n_layers
        tokens, notices = self.to_tokens(request.prompt, request.max_tokens)
        sae_specs = {sid: self.spec.sae(sid) for sid in request.saes}
        saes = {sid: self.sae(sid) for sid in request.saes}
        for s in request.active_steering:
            self.sae(s.sae)  # load (and validate) before taking the forward lock
        wanted = {hooks.pattern(l) for l in range(L)}
        wanted |= {h(l) for l in range(L) for h in (hooks.resid_pre, hooks.resid_mid, hooks.resid_post,
                                                    hooks.attn_out, hooks.mlp_out)}
        wanted |= {s.hook for s in sae_specs.values()}
        logits, cache = self._run_with_cache(tokens, wanted, request.active_steering, last_logits_only=True)

        def norms(h):  # [layer, pos]; the norm first, so only [pos] vectors are stacked
            return torch.stack([cache[h(l)][0].norm(dim=-1) for l in range(L)]).float().numpy()  # bf16 has no numpy

        # residual before each block, plus the final one: [L + 1, pos, d_model]
        stack = torch.stack([cache[hooks.resid_pre(l)][0] for l in range(L)] + [cache[hooks.resid_post(L - 1)][0]])
        cosine = torch.nn.functional.cosine_similarity(stack[:-1], stack[1:], dim=-1)  # [L, pos]
        sae_acts = {sid: sae_activations(sid, saes[sid], cache[spec.hook][0], request.top_k)
                    for sid, spec in sae_specs.items()}
        return Trace(
            model=self.spec.name, prompt=request.prompt, tokens=tokens[0].numpy(),
            str_tokens=self.str_tokens(tokens[0]),
            attention=self._per_layer(cache, hooks.pattern).float().numpy(),
            resid_pre_norm=norms(hooks.resid_pre), resid_mid_norm=norms(hooks.resid_mid),
            resid_post_norm=norms(hooks.resid_post),
            next_token_logprobs=torch.log_softmax(logits[0, -1].float(), -1).numpy(),
            attn_out_norm=norms(hooks.attn_out), mlp_out_norm=norms(hooks.mlp_out),
            resid_cosine=cosine.float().numpy(), resid_stack=stack.float().numpy(), d_model=self.info.d_model,
            saes=sae_acts, steering=request.active_steering, notices=tuple(notices), processing=self.spec.kwargs,
        )

    def attention_for_tokens(self, tokens: np.ndarray) -> np.ndarray:
        """[layer, head, q, k] patterns for a given token sequence (e.g. the repeated-random-token probe)."""
        wanted = {hooks.pattern(l) for l in range(self.info.n_layers)}
        _, cache = self.run(torch.as_tensor(tokens)[None], (), wanted, last_logits_only=True)
        return self._per_layer(cache, hooks.pattern).float().numpy()

    def head_probe(self, request: HeadProbeRequest) -> dict:
        from interp.analysis.heads import head_scores, repeated_random_tokens

        tokens = repeated_random_tokens(self.info.d_vocab, request.length, request.seed, bos=self.info.bos_token_id)
        return head_scores(self.attention_for_tokens(tokens), tokens)

    def _run_with_cache(self, tokens: torch.Tensor, wanted: set[str], steering=(), last_logits_only=False):
        """run() with FeatureSteer hooks."""
        return self.run(tokens, steering_hooks(steering, self.sae), wanted, last_logits_only)

    def logits(self, tokens: torch.Tensor, steering=()) -> torch.Tensor:
        """[1, pos, vocab] logits at every position, steered or not (one forward pass, nothing recorded)."""
        return self._run_with_cache(tokens, set(), steering)[0]

    def _per_layer(self, cache, hook_name) -> torch.Tensor:
        """[layer, ...] stack of one hook's batch-0 activations, e.g. patterns [layer, head, q, k]."""
        return torch.stack([cache[hook_name(l)][0] for l in range(self.info.n_layers)])

    def logit_lens(self, trace: Trace, k: int = 5) -> LogitLens:
        """Top-k of the logit lens at every residual of a trace. No forward pass: it reads trace.resid_stack."""
        idx, prob = [], []
        with torch.no_grad():
            for resid in torch.from_numpy(np.array(trace.resid_stack)):  # one layer at a time: [pos, vocab] stays small
                top = torch.softmax(self.logit_lens_logits(resid[None])[0].float(), -1).topk(k, dim=-1)
                idx.append(top.indices)
                prob.append(top.values)
        top_idx = torch.stack(idx).numpy().astype(np.int32)
        ids = np.unique(top_idx)
        strings = dict(zip(ids.tolist(), self.str_tokens(ids.tolist())))  # the one token-text path
        return LogitLens(top_idx=top_idx, top_prob=torch.stack(prob).numpy(), token_strings=strings)

    def generate(self, request: GenerateRequest):
        from interp.generation import generate

        return generate(self, request)

    def per_token_kl(self, request: KLRequest) -> np.ndarray:
        from interp.generation import per_token_kl

        steers = tuple(s for s in request.trace.steering if not s.is_identity)
        return per_token_kl(self, request.tokens, steers, request.start)

    def splice(self, request: SpliceRequest) -> dict:
        from interp import sae_tools

        return sae_tools.splice_metrics(self, request.trace, request.sae)

    # --- SAE-side questions (no forward pass; interp.sae_tools holds the maths) -------------------
    def feature_activations(self, sae_id: str, inputs: np.ndarray, feature: int) -> np.ndarray:
        from interp import sae_tools

        return sae_tools.feature_activations(self, sae_id, inputs, feature)

    def all_feature_activations(self, sae_id: str, inputs: np.ndarray) -> np.ndarray:
        from interp import sae_tools

        return sae_tools.all_feature_activations(self, sae_id, inputs)

    def feature_logit_effects(self, sae_id: str, feature: int, k: int = 10) -> dict:
        from interp import sae_tools

        return sae_tools.feature_logit_effects(self, sae_id, feature, k)

    def decoder_norm(self, sae_id: str, feature: int) -> float:
        from interp import sae_tools

        return sae_tools.decoder_norm(self, sae_id, feature)

    def similar_features(self, sae_id: str, feature: int, k: int = 5) -> list[tuple[int, float]]:
        from interp.dashboards.local import similar_features

        return similar_features(self, sae_id, feature, k)

    def mismatch_warnings(self, sae_id: str, n_pos: int) -> list[str]:
        from interp import sae_tools

        return sae_tools.mismatch_warnings(self, sae_id, n_pos)
