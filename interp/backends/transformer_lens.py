"""The only place that runs the model: sae-lens HookedSAETransformer + sae-lens SAEs, numpy out."""
from __future__ import annotations

import contextlib
import os
import sys
import threading
import warnings
from pathlib import Path

import numpy as np
import torch
from sae_lens import SAE, HookedSAETransformer
from transformer_lens import loading_from_pretrained as tl_loading

from interp import hooks, lean_forward
from interp.backends import gemma2
from interp.lru import BoundedLRU
from interp.errors import LoadError
from interp.registry import ModelSpec, SAESpec
from interp.requests import TraceRequest
from interp.steering import steering_hooks
from interp.trace import LogitLens, SAEActivations, Trace


def load_model(spec: ModelSpec) -> HookedSAETransformer:
    """One loader for the embedded folder and hub names alike: HookedSAETransformer.from_pretrained."""
    source, kwargs = spec.source, spec.kwargs
    is_folder = spec.embedded or Path(source).is_dir()
    if is_folder:
        folder = Path(source).resolve()
        if not (folder / "config.json").exists():
            raise LoadError(f"The model folder {folder.name!r} has no config.json; reinstall or retrain it.")
        source = str(folder)
        # TransformerLens accepts only official names; a local folder must be listed (TL issues #664/#800).
        if source not in tl_loading.OFFICIAL_MODEL_NAMES:
            tl_loading.OFFICIAL_MODEL_NAMES.append(source)
        from transformers import AutoTokenizer

        kwargs.setdefault("tokenizer", AutoTokenizer.from_pretrained(source))
    try:
        # TL prints "Loaded pretrained model"; keep stdout for data
        with contextlib.redirect_stdout(sys.stderr), _one_weight_copy_at_a_time(), gemma2.config_from_hf(source, is_folder):
            model = HookedSAETransformer.from_pretrained(source, device="cpu", **kwargs)
    except OSError as e:  # hub unreachable, or not in the local cache with HF_HUB_OFFLINE=1
        raise LoadError(f"Could not load {spec.title}: the model hub is unreachable or the files are missing ({e}).") from e
    except Exception as e:
        # A partly cached hub model (e.g. weights and config but no tokenizer.json, offline) makes transformers'
        # AutoTokenizer raise ValueError("Couldn't instantiate the backend tokenizer ..."), not OSError; app.py
        # catches only LoadError, so it crashed with a traceback. Found by tests/test_hub_path.py.
        raise LoadError(f"Could not load {spec.title}: its files are incomplete or unreadable "
                        f"({type(e).__name__}: {' '.join(str(e).split())}).") from e
    model.eval()
    _use_fast_unembed(model)
    lean_forward.prepare(model)
    return model


_LOAD_LOCK = threading.Lock()
_COPYING_STEPS = ("fold_layer_norm", "center_writing_weights", "center_unembed", "fold_value_biases")


@contextlib.contextmanager
def _one_weight_copy_at_a_time():
    """TransformerLens's weight processing (fold_ln, centring, value-bias folding) runs steps that each return
    a deep copy of the whole state dict while every earlier dict is still referenced: gpt2-small's load
    peaked at 2.4 GB for 0.5 GB of weights. For the duration of one load, each step empties the dict it was
    given once it has returned its copy, so the superseded tensors are freed and at most two copies live.
    The numbers are TL's own (tests compare the weights with a plain load); if TL renames its steps, the
    load simply runs unchanged."""
    from transformer_lens.weight_processing import ProcessWeights

    originals = {n: ProcessWeights.__dict__[n] for n in _COPYING_STEPS
                 if isinstance(ProcessWeights.__dict__.get(n), staticmethod)}

    def freeing(fn):
        def step(state_dict, *args, **kwargs):
            out = fn(state_dict, *args, **kwargs)
            if out is not state_dict and isinstance(state_dict, dict):
                state_dict.clear()
            return out
        return staticmethod(step)

    with _LOAD_LOCK:  # the patch is process-wide: one load at a time
        for name, method in originals.items():
            setattr(ProcessWeights, name, freeing(method.__func__))
        try:
            yield
        finally:
            for name, method in originals.items():
                setattr(ProcessWeights, name, method)


def _use_fast_unembed(model) -> None:
    """TransformerLens's Unembed computes F.linear(x, W_U.T.contiguous()), copying W_U (154 MB for GPT-2) on
    every forward; on CPU that copy dominates generation. x @ W_U + b_U is the same product without the copy."""
    u = model.unembed

    def forward(residual):
        return u.hook_out(u.hook_in(residual) @ u.W_U + u.b_U)

    u.forward = forward


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


class TransformerLensBackend:
    """trace(request) -> Trace. Keeps loaded resources (model, SAEs), never the last run."""

    max_loaded_saes = 4
    # SAE weights kept loaded, in bytes: one gpt2-small-res-jb SAE is 151 MB (24,576 x 768, encoder and
    # decoder), so four of them would add 600 MB to a 1.3 GB process; the embedded ones are < 1 MB each.
    max_sae_bytes = int(float(os.environ.get("INTERP_SAE_CACHE_MB", "320")) * 2**20)

    def __init__(self, spec: ModelSpec, model: HookedSAETransformer):
        self.spec = spec
        self.model = model
        # One lock for every forward pass: hooks live on the shared modules, so one session's hooks
        # would otherwise fire in another session's pass.
        self.lock = threading.RLock()
        self._saes = BoundedLRU(self.max_sae_bytes, max_items=self.max_loaded_saes, size=_nbytes)  # id -> SAE
        self._token_text: dict[int, str] = {}  # id -> its text (str_tokens)
        self.forward_passes = 0  # counted so tests can prove a page switch runs none

    @classmethod
    def load(cls, spec: ModelSpec, progress=None) -> "TransformerLensBackend":
        if progress:
            progress(0.1, f"Loading {spec.title}")
        backend = cls(spec, load_model(spec))
        if progress:
            progress(1.0, "Model ready")
        return backend

    # --- resources -------------------------------------------------------------------------
    @property
    def n_ctx(self) -> int:
        return self.model.cfg.n_ctx

    def sae(self, sae_id: str) -> SAE:
        """Load SAEs lazily, keeping the most recently used ones: at most `max_loaded_saes`, and no more than
        `max_sae_bytes` of weights (the one asked for is kept even when it alone is over)."""
        def load():
            sae = load_sae(self.spec.sae(sae_id))
            if sae.cfg.d_in != self.model.cfg.d_model:
                raise LoadError(f"SAE {sae_id!r} expects width {sae.cfg.d_in}, the model has {self.model.cfg.d_model}.")
            return sae

        with self.lock:  # one load of a given SAE at a time
            return self._saes.get(sae_id, load)

    def to_tokens(self, prompt: str, max_tokens: int) -> tuple[torch.Tensor, list[str]]:
        """[1, pos] tokens with BOS; truncated to the model's context with a notice."""
        tokens = self.model.to_tokens(prompt, prepend_bos=True, truncate=False)
        notices = []
        limit = min(max_tokens, self.n_ctx)
        if tokens.shape[1] > limit:
            notices.append(
                f"The prompt has {tokens.shape[1] - 1} tokens; only the first {limit - 1} are used "
                f"(context limit {limit} including BOS)."
            )
            tokens = tokens[:, :limit]
        return tokens, notices

    def str_tokens(self, ids) -> tuple[str, ...]:
        """TL's to_str_tokens (each id decoded on its own) for a sequence of ids (or a 1-d tensor), memoised per
        id: decoding 256 ids one call at a time was ~1 ms of every trace."""
        out = []
        for i in (ids.tolist() if isinstance(ids, torch.Tensor) else ids):
            i = int(i)
            text = self._token_text.get(i)
            if text is None:
                text = self._token_text[i] = self.model.tokenizer.decode([i])
            out.append(text)
        return tuple(out)

    # --- the one entry verb ---------------------------------------------------------------
    def trace(self, request: TraceRequest) -> Trace:
        model, L = self.model, self.model.cfg.n_layers
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
        sae_acts = {sid: self._sae_activations(sid, saes[sid], cache[spec.hook][0], request.top_k)
                    for sid, spec in sae_specs.items()}
        return Trace(
            model=self.spec.name,
            prompt=request.prompt,
            tokens=tokens[0].numpy(),
            str_tokens=self.str_tokens(tokens[0]),
            attention=self._per_layer(cache, hooks.pattern).float().numpy(),
            resid_pre_norm=norms(hooks.resid_pre),
            resid_mid_norm=norms(hooks.resid_mid),
            resid_post_norm=norms(hooks.resid_post),
            next_token_logprobs=torch.log_softmax(logits[0, -1].float(), -1).numpy(),
            attn_out_norm=norms(hooks.attn_out),
            mlp_out_norm=norms(hooks.mlp_out),
            resid_cosine=cosine.float().numpy(),
            resid_stack=stack.float().numpy(),
            d_model=model.cfg.d_model,
            saes=sae_acts,
            steering=request.active_steering,
            notices=tuple(notices),
            processing=self.spec.kwargs,
        )

    def attention_for_tokens(self, tokens: np.ndarray) -> np.ndarray:
        """[layer, head, q, k] patterns for a given token sequence (e.g. the repeated-random-token probe)."""
        wanted = {hooks.pattern(l) for l in range(self.model.cfg.n_layers)}
        _, cache = self._run_with_cache(torch.as_tensor(tokens)[None], wanted, last_logits_only=True)
        return self._per_layer(cache, hooks.pattern).float().numpy()

    def run(self, tokens: torch.Tensor, fwd_hooks=(), record=frozenset(), last_logits_only=False):
        """The one forward pass, under the lock: (logits, {hook name: activation [1, ...]}).

        GPT-2-style models run the lean pass over TL's own weights (interp.lean_forward: 2-3x faster than
        run_with_cache on CPU, same numbers); anything it cannot compute exactly (other architectures, hooks or
        records at points it does not handle) runs TL's run_with_cache with the hooks attached for its duration.
        last_logits_only: the lean pass unembeds only the last position (a trace reads nothing else)."""
        with self.lock, torch.no_grad():
            if lean_forward.supports(self.model, [name for name, _ in fwd_hooks], record):
                lean = lean_forward.LeanForward(self.model, fwd_hooks, record=record)
                out = lean(tokens, last_logits_only), lean.cache
            else:
                with self.model.hooks(fwd_hooks=list(fwd_hooks)):
                    out = self.model.run_with_cache(tokens, names_filter=lambda n: n in record)
            self.forward_passes += 1
        return out

    def _run_with_cache(self, tokens: torch.Tensor, wanted: set[str], steering=(), last_logits_only=False):
        """run() with FeatureSteer hooks."""
        return self.run(tokens, steering_hooks(steering, self.sae), wanted, last_logits_only)

    def logits(self, tokens: torch.Tensor, steering=()) -> torch.Tensor:
        """[1, pos, vocab] logits at every position, steered or not (one forward pass, nothing recorded)."""
        return self._run_with_cache(tokens, set(), steering)[0]

    def _per_layer(self, cache, hook_name) -> torch.Tensor:
        """[layer, ...] stack of one hook's batch-0 activations, e.g. patterns [layer, head, q, k]."""
        return torch.stack([cache[hook_name(l)][0] for l in range(self.model.cfg.n_layers)])

    def logit_lens_logits(self, resid: torch.Tensor) -> torch.Tensor:
        """Final LayerNorm applied to a residual vector (its own scale), then the unembedding, then the model's
        logit soft-cap if it has one (Gemma 2: 30 tanh(l / 30)), so the last layer's lens is the model's output."""
        logits = self.model.unembed(self.model.ln_final(resid))
        cap = self.model.cfg.output_logits_soft_cap
        return cap * torch.tanh(logits / cap) if cap is not None and cap > 0 else logits

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
        strings = dict(zip(ids.tolist(), self.model.tokenizer.batch_decode(ids[:, None].tolist())))
        return LogitLens(top_idx=top_idx, top_prob=torch.stack(prob).numpy(), token_strings=strings)

    @staticmethod
    def _sae_activations(sae_id: str, sae: SAE, x: torch.Tensor, k: int) -> SAEActivations:
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
            sae=sae_id,
            hook=sae.cfg.metadata.hook_name,
            d_sae=int(feats.shape[-1]),
            top_idx=top.indices.numpy().astype(np.int32),
            top_act=top.values.float().numpy(),
            l0=l0.numpy().astype(np.int32),
            total_act=feats.sum(-1).float().numpy(),
            error_norm=err.float().numpy(),
            input_norm=x.norm(dim=-1).float().numpy(),
            fvu=fvu,
            inputs=x.float().numpy(),
        )
