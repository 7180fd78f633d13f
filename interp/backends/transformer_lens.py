"""The TransformerLens backend: sae-lens HookedSAETransformer + sae-lens SAEs, numpy out.

Only the TL-specific primitives live here (loading, tokens, the forward pass with the lean path, the KV-cache
decode loop, unembedding, attribution); the verbs are interp.backends.common.BaseBackend's. TL run-time
patches: interp.backends.tl_patches.
"""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import numpy as np
import torch
from sae_lens import SAE, HookedSAETransformer  # noqa: F401

from interp import lean_forward
from interp.backends import gemma2, tl_patches
from interp.backends.api import AttributionRequest, ModelInfo
from interp.backends.common import (SPARSE_DECODE_BELOW, BaseBackend, _decode, _nbytes,  # noqa: F401  (old names)
                                    load_sae, sae_activations)
from interp.backends.tl_patches import _COPYING_STEPS  # noqa: F401  (tests/test_memory.py)
from interp.errors import LoadError
from interp.registry import ModelSpec
from interp.steering import steering_hooks


def load_model(spec: ModelSpec) -> HookedSAETransformer:
    """One loader for the embedded folder and hub names alike: HookedSAETransformer.from_pretrained."""
    source, kwargs = spec.source, spec.kwargs
    is_folder = spec.embedded or Path(source).is_dir()
    if is_folder:
        folder = Path(source).resolve()
        if not (folder / "config.json").exists():
            raise LoadError(f"The model folder {folder.name!r} has no config.json; reinstall or retrain it.")
        source = str(folder)
        tl_patches.allow_local_folder(source)
        from transformers import AutoTokenizer

        kwargs.setdefault("tokenizer", AutoTokenizer.from_pretrained(source))
    try:
        # TL prints "Loaded pretrained model"; keep stdout for data
        with contextlib.redirect_stdout(sys.stderr), tl_patches.one_weight_copy_at_a_time(), \
                gemma2.config_from_hf(source, is_folder):
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
    tl_patches.use_fast_unembed(model)
    lean_forward.prepare(model)
    return model



class TransformerLensBackend(BaseBackend):
    """trace(request) -> Trace (BaseBackend) over a HookedSAETransformer. `model` is for tests and the bench
    only: the app reaches it through the verbs of interp.backends.api.ModelBackend."""

    backend_name = "transformer_lens"

    def __init__(self, spec: ModelSpec, model: HookedSAETransformer):
        super().__init__(spec)
        self.model = model
        c = model.cfg
        self._info = ModelInfo(spec.name, spec.title, self.backend_name, c.n_layers, c.n_heads, c.d_model,
                               c.d_vocab, c.n_ctx, sum(p.numel() for p in model.parameters()),
                               model.tokenizer.bos_token_id or 0)

    @classmethod
    def load(cls, spec: ModelSpec, progress=None) -> "TransformerLensBackend":
        if progress:
            progress(0.1, f"Loading {spec.title}")
        backend = cls(spec, load_model(spec))
        if progress:
            progress(1.0, "Model ready")
        return backend

    @property
    def info(self) -> ModelInfo:
        return self._info

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

    def _decode_ids(self, ids: list[int]) -> str:
        return self.model.tokenizer.decode(ids)

    def has_hook(self, name: str) -> bool:
        return name in self.model.hook_dict

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

    @contextlib.contextmanager
    def decode_session(self, steering, pos_offset):
        """step(tokens) with a KV cache: lean_forward for GPT-2-style models, TransformerLens otherwise. One
        counted forward pass for the whole loop. inference_mode, not no_grad: decode steps are tiny, and
        autograd bookkeeping is a visible share of them."""
        from transformer_lens import TransformerLensKeyValueCache

        model = self.model
        fwd_hooks = steering_hooks(steering, self.sae, pos_offset=pos_offset)
        with self.lock, torch.inference_mode():
            if lean_forward.supports(model, [name for name, _ in fwd_hooks]):
                lean = lean_forward.LeanForward(model, fwd_hooks)  # only the last position's logits are sampled
                step, ctx = (lambda t: lean(t, last_logits_only=True)), contextlib.nullcontext()
            else:  # any other architecture or hook point: TransformerLens's own forward with its KV cache
                cache = TransformerLensKeyValueCache.init_cache(model.cfg, model.cfg.device, 1)
                step, ctx = (lambda t: model(t, past_kv_cache=cache)), model.hooks(fwd_hooks=list(fwd_hooks))
            with ctx:
                self.forward_passes += 1
                yield step

    def unembed_matrix(self) -> torch.Tensor:
        return self.model.W_U

    # --- weights for analyses over the cached trace (no forward pass) ------------------------
    def head_weights(self, layer: int) -> dict:
        """Layer `layer`'s attention weights as TL holds them, float64 numpy: W_Q/W_K/W_V [head, d_model, d_head]
        (grouped-query K/V repeated over their query group, as TL's properties give them), b_* [head, d_head],
        W_O [head, d_head, d_model], b_O [d_model]; plus what interp.analysis.head_math needs to reproduce TL's
        scores: attn_scale, eps, the input norm (LNPre: folded LayerNorm; RMS: its weight ln_w), the norm after
        attention (Gemma 2: post_w), rotary, soft-cap and sliding window. `unsupported` names what the maths does
        not reproduce (it refuses those models with that sentence)."""
        from transformer_lens.utilities.architectures import POST_NORM_ARCHITECTURES

        c, block = self.model.cfg, self.model.blocks[layer]
        a = block.attn
        f = lambda t: t.detach().to(torch.float64).numpy().copy()  # noqa: E731
        norm = c.normalization_type
        raw = {"W_Q": f(a.W_Q), "b_Q": f(a.b_Q), "W_K": f(a.W_K), "b_K": f(a.b_K), "W_V": f(a.W_V), "b_V": f(a.b_V),
               "W_O": f(a.W_O), "b_O": f(a.b_O), "attn_scale": float(c.attn_scale if c.use_attn_scale else 1.0),
               "eps": float(c.eps), "normalization": "RMS" if norm in ("RMS", "RMSPre") else norm,
               "positional": c.positional_embedding_type, "attn_only": bool(c.attn_only),
               "n_kv_heads": int(c.n_key_value_heads or 0)}
        if norm in ("RMS", "RMSPre"):
            raw["ln_w"] = f(block.ln1.w) if norm == "RMS" else np.ones(c.d_model)
        if c.use_normalization_before_and_after:
            raw["post_w"] = f(block.ln1_post.w) if hasattr(block.ln1_post, "w") else np.ones(c.d_model)
        if c.positional_embedding_type == "rotary":
            local = getattr(a, "attn_type", "global") == "local"
            base = c.rotary_base_local if (local and c.rotary_base_local is not None) else c.rotary_base
            raw.update(rotary_dim=int(c.rotary_dim), rotary_base=float(base),
                       rotary_adjacent_pairs=bool(c.rotary_adjacent_pairs))
        if getattr(a, "attn_type", "global") == "local":
            raw["window"] = int(c.window_size)
        cap = c.attn_scores_soft_cap
        raw["softcap"] = float(cap) if cap is not None and cap > 0 else 0.0
        odd = [name for name, on in (
            ("query/key norms", c.use_qk_norm), ("attention sinks", c.use_attention_sinks),
            ("log-n query scaling", c.use_logn_attn), ("dynamic NTK rotary", c.use_dynamic_ntk_rope),
            ("NTK-by-parts rotary", c.use_NTK_by_parts_rope), ("YaRN rotary", c.use_yarn_rope),
            ("scaled rotary", getattr(c, "rotary_scaling_factor", 1.0) != 1.0),
            ("parallel attention and MLP", c.parallel_attn_mlp), ("a post-norm block", c.original_architecture in POST_NORM_ARCHITECTURES),
            ("an unfolded LayerNorm", norm == "LN"), ("a split or shortformer attention input",
                                                      c.use_split_qkv_input or c.positional_embedding_type == "shortformer"),
        ) if on]
        if odd:
            raw["unsupported"] = ", ".join(odd)
        return raw

    def unembed_weights(self, token: int) -> dict:
        """The unembedding column of one token (W_U[:, token], b_U[token]), the final norm's kind (and its weight
        ln_w for an RMSNorm), and the model's logit soft-cap (0 without one)."""
        c, u = self.model.cfg, self.model.unembed
        raw = {"W_U": u.W_U[:, token].detach().to(torch.float64).numpy().copy(), "b_U": float(u.b_U[token].detach()),
               "eps": float(c.eps), "normalization": c.normalization_type,
               "softcap": float(c.output_logits_soft_cap) if (c.output_logits_soft_cap or 0) > 0 else 0.0}
        if c.normalization_type == "RMS":
            raw["ln_w"] = self.model.ln_final.w.detach().to(torch.float64).numpy().copy()
        elif c.normalization_type == "RMSPre":
            raw.update(normalization="RMS", ln_w=np.ones(c.d_model))
        return raw

    def embeddings(self, tokens) -> tuple[np.ndarray, np.ndarray]:
        """(token embeddings [pos, d_model], position embeddings [pos, d_model]) of a token sequence, float64."""
        ids = torch.as_tensor(np.array(tokens))
        pos = self.model.pos_embed.W_pos[: len(ids)] if hasattr(self.model, "pos_embed") else torch.zeros(len(ids), 0)
        return (self.model.embed.W_E[ids].detach().to(torch.float64).numpy(),
                pos.detach().to(torch.float64).numpy())

    def logit_lens_logits(self, resid: torch.Tensor) -> torch.Tensor:
        """Final LayerNorm applied to a residual vector (its own scale), then the unembedding, then the model's
        logit soft-cap if it has one (Gemma 2: 30 tanh(l / 30)), so the last layer's lens is the model's output."""
        logits = self.model.unembed(self.model.ln_final(resid))
        cap = self.model.cfg.output_logits_soft_cap
        return cap * torch.tanh(logits / cap) if cap is not None and cap > 0 else logits

    def attribute(self, request: AttributionRequest):
        from interp.attribution import attribute_feature

        return attribute_feature(self, request.prompt, request.sae, request.feature, request.pos, request.max_tokens)

    _sae_activations = staticmethod(sae_activations)  # old name
