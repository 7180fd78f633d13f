"""Every run-time change to TransformerLens, in one place (tests/test_tl_patches.py checks each one).

1. allow_local_folder: TL accepts only official names; a local folder must be listed (TL issues #664/#800).
2. one_weight_copy_at_a_time: weight processing frees each superseded state-dict copy during a load.
3. use_fast_unembed: Unembed without copying W_U on every forward.
4. attach / attached: the lean forward's weights ride on the model object, invisible to state_dict.
If TL renames what a patch touches, the patch does nothing and the model runs TL's own code.
"""
from __future__ import annotations

import contextlib
import threading

_LOAD_LOCK = threading.Lock()
_COPYING_STEPS = ("fold_layer_norm", "center_writing_weights", "center_unembed", "fold_value_biases")
_LEAN_ATTR = "_lean_weights"


def allow_local_folder(source: str) -> None:
    """Let HookedTransformer.from_pretrained take a local folder (the embedded models)."""
    from transformer_lens import loading_from_pretrained as tl_loading

    if source not in tl_loading.OFFICIAL_MODEL_NAMES:
        tl_loading.OFFICIAL_MODEL_NAMES.append(source)


@contextlib.contextmanager
def one_weight_copy_at_a_time():
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


def use_fast_unembed(model) -> None:
    """TransformerLens's Unembed computes F.linear(x, W_U.T.contiguous()), copying W_U (154 MB for GPT-2) on
    every forward; on CPU that copy dominates generation. x @ W_U + b_U is the same product without the copy."""
    u = model.unembed

    def forward(residual):
        return u.hook_out(u.hook_in(residual) @ u.W_U + u.b_U)

    u.forward = forward


def attach(model, value) -> None:
    """Keep `value` on the model without registering it as a submodule or buffer (state_dict stays TL's)."""
    object.__setattr__(model, _LEAN_ATTR, value)


def attached(model):
    return getattr(model, _LEAN_ATTR, None)
