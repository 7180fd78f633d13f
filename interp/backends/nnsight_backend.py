"""The nnsight backend: the same interface (interp.backends.api) over a Hugging Face causal LM through nnsight,
run locally (default) or on NDIF (interp.remote, when the operator configures it).

Activations are read from the HF modules and presented under TransformerLens hook names, as TL would show
them, so one Trace means the same on both backends (tests/test_nnsight_parity.py):
- resid_pre(l) = layer l's input; attn_out(l) = its attention output; resid_mid(l) = resid_pre + attn_out;
  mlp_out(l) = its MLP output; resid_post(l) = its output; pattern(l) = eager attention's weights.
- TL's weight processing: with center_writing_weights TL subtracts each written vector's mean over d_model
  (the following LayerNorm removes it anyway), so residual-stream values are shown centred here too
  (`_view`); with fold_ln / center_unembed TL's logits differ by a constant per position (log-probs equal)
  and its W_U has the final LayerNorm's weight folded in and is centred (unembed_matrix does the same).
Steering and SAE splicing are nnsight interventions at the same points: a hook fn(act, hook) sees the
TL-view activation and its change is added to the module's real value.
Generation reruns the whole sequence per token (no KV cache): fine for the small local models; on NDIF each
new token is one round trip.
"""
from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass

import torch

from interp import hooks
from interp.backends.api import ModelInfo
from interp.backends.common import BaseBackend
from interp.errors import LoadError
from interp.registry import ModelSpec
from interp.steering import steering_hooks


@dataclass(frozen=True)
class Arch:
    """Where a decoder-only HF model keeps its parts (attribute paths from the top module)."""

    layers: str
    attn: str
    mlp: str
    final_norm: str
    centre: bool  # LayerNorm model: TL's centring of writing weights applies


ARCHES = {"gpt2": Arch("transformer.h", "attn", "mlp", "transformer.ln_f", True),
          "llama": Arch("model.layers", "self_attn", "mlp", "model.norm", False)}


def _get(obj, path: str):
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


class NNsightBackend(BaseBackend):
    backend_name = "nnsight"

    def __init__(self, spec: ModelSpec, lm, remote: bool = False):
        super().__init__(spec)
        self.lm, self.remote = lm, remote
        cfg = lm.config
        arch = ARCHES.get(cfg.model_type)
        if arch is None:
            raise LoadError(f"The nnsight backend knows GPT-2 and Llama layouts, not {cfg.model_type!r}.")
        kw = spec.kwargs
        self.arch = arch
        self.centre = arch.centre and kw.get("center_writing_weights", True)
        self.centre_unembed = arch.centre and kw.get("center_unembed", True)
        self.L = cfg.num_hidden_layers
        n_params = 0 if remote else sum(p.numel() for p in lm._module.parameters())
        self._info = ModelInfo(spec.name, spec.title, "nnsight (NDIF)" if remote else "nnsight", self.L,
                               cfg.num_attention_heads, cfg.hidden_size, cfg.vocab_size,
                               getattr(cfg, "n_positions", None) or cfg.max_position_embeddings, n_params,
                               lm.tokenizer.bos_token_id or 0)

    @classmethod
    def load(cls, spec: ModelSpec, progress=None, remote: bool = False) -> "NNsightBackend":
        from nnsight import LanguageModel

        if progress:
            progress(0.1, f"Loading {spec.title} (nnsight{', NDIF' if remote else ''})")
        try:
            warnings.filterwarnings("ignore", message="LanguageModel is deprecated")  # 0.8's alias, same class
            lm = LanguageModel(str(spec.source), dispatch=not remote, attn_implementation="eager",
                               device_map="cpu" if not remote else None)
        except OSError as e:
            raise LoadError(f"Could not load {spec.title} for nnsight: {e}") from e
        lm._module.eval()
        return cls(spec, lm, remote)

    @property
    def info(self) -> ModelInfo:
        return self._info

    # --- primitives --------------------------------------------------------------------------
    def to_tokens(self, prompt: str, max_tokens: int):
        ids = [self.info.bos_token_id] + self.lm.tokenizer.encode(prompt, add_special_tokens=False)
        notices = []
        limit = min(max_tokens, self.n_ctx)
        if len(ids) > limit:
            notices.append(f"The prompt has {len(ids) - 1} tokens; only the first {limit - 1} are used "
                           f"(context limit {limit} including BOS).")
            ids = ids[:limit]
        return torch.tensor([ids]), notices

    def _decode_ids(self, ids):
        return self.lm.tokenizer.decode(ids)

    def has_hook(self, name: str) -> bool:
        try:
            layer = hooks.layer_of(name)
        except ValueError:
            return False
        return 0 <= layer < self.L and name in {h(layer) for h in (hooks.resid_pre, hooks.resid_mid, hooks.resid_post,
                                                                   hooks.attn_out, hooks.mlp_out, hooks.pattern)}

    def _view(self, x):
        """An activation as TL shows it: centred over d_model when TL centres writing weights."""
        return x - x.mean(-1, keepdim=True) if self.centre else x

    def _edit(self, fns, raw, shift=0.0):
        """Apply TL-style hook fns to the TL view of `raw` (+ shift, see _trace); return (raw plus their change,
        the change's mean over d_model)."""
        view = self._view(raw) + shift
        new = view
        for fn in fns:
            new = fn(new, None)
        delta = new - view
        return raw + delta, delta.mean(-1, keepdim=True)

    def run(self, tokens: torch.Tensor, fwd_hooks=(), record=frozenset(), last_logits_only=False):
        """One nnsight trace under the lock: (logits, {TL hook name: [1, ...]}). Modules are visited in the
        order they run (nnsight requires it)."""
        edits: dict[str, list] = {}
        for name, fn in fwd_hooks:
            if not self.has_hook(name) or name.endswith("hook_pattern"):
                raise LoadError(f"The nnsight backend cannot edit {name}.")
            edits.setdefault(name, []).append(fn)
        cache = {}
        with self.lock, torch.no_grad():
            cache, logits = self._trace(tokens, edits, set(record))
            self.forward_passes += 1
        logits = logits[:, -1:] if last_logits_only else logits
        return logits, cache

    def _trace(self, tokens, edits, record):
        """The residual's TL view is its centred value plus `shift`: the mean of every steering change made
        upstream, which TL's residual keeps (TL centres what the blocks write, not what a hook adds)."""
        lm, a, L = self.lm, self.arch, self.L
        layers = _get(lm, a.layers)
        saved, shift = {}, 0.0
        with lm.trace(tokens, remote=self.remote):
            for l in range(L):
                layer = layers[l]
                pre = layer.input
                if hooks.resid_pre(l) in edits:
                    pre, d = self._edit(edits[hooks.resid_pre(l)], pre, shift)
                    shift = shift + d
                    layer.input = pre
                attn = getattr(layer, a.attn).output
                ao = attn[0]
                if hooks.attn_out(l) in edits:
                    ao, d = self._edit(edits[hooks.attn_out(l)], ao)
                    shift = shift + d
                    getattr(layer, a.attn).output = (ao, attn[1])
                if hooks.resid_pre(l) in record:
                    saved[hooks.resid_pre(l)] = (self._view(pre) + shift).save()
                if hooks.attn_out(l) in record:
                    saved[hooks.attn_out(l)] = (self._view(ao) + (d if hooks.attn_out(l) in edits else 0.0)).save()
                if hooks.resid_mid(l) in edits:  # the residual after attention: edit it through attn's output
                    mid, d = self._edit(edits[hooks.resid_mid(l)], pre + ao, shift)
                    shift = shift + d
                    ao = mid - pre
                    getattr(layer, a.attn).output = (ao, attn[1])
                if hooks.resid_mid(l) in record:
                    saved[hooks.resid_mid(l)] = (self._view(pre + ao) + shift).save()
                if hooks.pattern(l) in record:
                    saved[hooks.pattern(l)] = attn[1].save()
                mlp_mod = getattr(layer, a.mlp)
                if hooks.mlp_out(l) in edits:
                    out, d = self._edit(edits[hooks.mlp_out(l)], mlp_mod.output)
                    mlp_mod.output = out
                    shift = shift + d
                if hooks.mlp_out(l) in record:
                    saved[hooks.mlp_out(l)] = (self._view(mlp_mod.output)
                                               + (d if hooks.mlp_out(l) in edits else 0.0)).save()
                if hooks.resid_post(l) in edits:
                    out, d = self._edit(edits[hooks.resid_post(l)], layer.output, shift)
                    layer.output = out
                    shift = shift + d
                if hooks.resid_post(l) in record:
                    saved[hooks.resid_post(l)] = (self._view(layer.output) + shift).save()
            logits = lm.lm_head.output.save()
        return dict(saved), logits

    @contextlib.contextmanager
    def decode_session(self, steering, pos_offset):
        """No KV cache: each step reruns the whole sequence with the steering at absolute positions (offset 0),
        so pos_offset is not needed. One counted forward pass per session, as on TL."""
        fwd = steering_hooks(steering, self.sae)
        seq = []

        def step(t):
            seq.extend(t[0].tolist())
            return self.run(torch.tensor([seq]), fwd, last_logits_only=True)[0]

        with self.lock:
            before = self.forward_passes
            yield step
            self.forward_passes = before + 1

    def unembed_matrix(self) -> torch.Tensor:
        """TL's W_U: the final LayerNorm's weight folded in, centred over d_model (fold_ln) and over the
        vocabulary (center_unembed)."""
        W = self.lm.lm_head.weight.T
        if self.arch.centre:
            W = _get(self.lm, self.arch.final_norm).weight[:, None] * W
            W = W - W.mean(0, keepdim=True)
            if self.centre_unembed:
                W = W - W.mean(1, keepdim=True)
        return W.detach()

    def logit_lens_logits(self, resid: torch.Tensor) -> torch.Tensor:
        norm = _get(self.lm, self.arch.final_norm)._module
        logits = self.lm.lm_head._module(norm(resid))
        return logits - logits.mean(-1, keepdim=True) if self.centre_unembed else logits
