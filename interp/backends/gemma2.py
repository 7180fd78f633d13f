"""Gemma 2 checkpoints that TransformerLens knows only by name.

TransformerLens 3.9 builds a Gemma 2 config from a hard-coded table keyed by the official name
("google/gemma-2-2b": 26 layers, d_model 2304, window 4096 ...); it never reads config.json for that
architecture, so any other Gemma 2 (a fine-tune under another name, a local folder, the reduced model the
tests build) raised "not found" or NotImplementedError. `config_from_hf(source)` supplies the same
HookedTransformerConfig fields, read from the checkpoint's own config.json, for the duration of one load.
The official names keep TransformerLens's table (their entries are not touched). The same patch lets a local
folder whose path contains "gemma" or "llama" load: TL picked the architecture from such a path.
"""
from __future__ import annotations

import contextlib

GEMMA2 = "Gemma2ForCausalLM"
_LAYER_TYPES = {"sliding_attention": "local", "full_attention": "global"}


def tl_config(hf) -> dict:
    """HookedTransformerConfig fields for a transformers Gemma2Config (the fields TL's gemma-2-2b entry sets)."""
    n_layers = hf.num_hidden_layers
    # transformers >= 4.5x lists layer types; older configs alternate, sliding first (HF: even layers slide)
    layer_types = getattr(hf, "layer_types", None) or ["sliding_attention", "full_attention"] * ((n_layers + 1) // 2)
    rope = getattr(hf, "rope_parameters", None) or {}
    return {
        "d_model": hf.hidden_size,
        "d_head": hf.head_dim,
        "n_heads": hf.num_attention_heads,
        "d_mlp": hf.intermediate_size,
        "n_layers": n_layers,
        "n_ctx": hf.max_position_embeddings,
        "eps": hf.rms_norm_eps,
        "d_vocab": hf.vocab_size,
        "act_fn": hf.hidden_activation,
        "initializer_range": hf.initializer_range,
        "normalization_type": "RMS",
        "rotary_base": float(rope.get("rope_theta", getattr(hf, "rope_theta", 10000.0))),
        "positional_embedding_type": "rotary",
        "use_attn_scale": True,
        "attn_scale": float(hf.query_pre_attn_scalar) ** 0.5,  # scores / sqrt(query_pre_attn_scalar), as HF
        "n_key_value_heads": hf.num_key_value_heads,
        "window_size": hf.sliding_window,
        "use_local_attn": True,
        "attn_types": [_LAYER_TYPES[t] for t in layer_types[:n_layers]],
        "attn_scores_soft_cap": hf.attn_logit_softcapping if hf.attn_logit_softcapping is not None else -1.0,
        "output_logits_soft_cap": hf.final_logit_softcapping if hf.final_logit_softcapping is not None else -1.0,
        "gated_mlp": True,
        "final_rms": True,
        "use_normalization_before_and_after": True,
        "original_architecture": GEMMA2,
        "tokenizer_name": None,  # set by config_from_hf to the source
    }


_ADDED: set[str] = set()  # names this module listed as official (TL's own table does not have them)
_SNIFFED = ("llama", "gemma")  # TL picks these architectures from the name, before reading config.json


def _known_by_name(source: str, tl_loading) -> bool:
    if source in _ADDED:
        return False
    try:
        tl_loading.get_official_model_name(source)
        return True
    except ValueError:
        return False


def _neutral_path(folder: str, tmp: str) -> str:
    """A symlink to `folder` whose path TL's name sniffing cannot misread (tmp is a fresh temporary folder)."""
    import os

    link = os.path.join(tmp, "model")
    os.symlink(folder, link)
    return link


@contextlib.contextmanager
def config_from_hf(source: str, is_folder: bool):
    """While loading `source`, TL's config conversion for it is replaced when TL would get it wrong:
    - a Gemma 2 that TL does not know by name: the fields read from its config.json (a folder or the hub cache);
    - a local folder whose path contains "gemma" or "llama" (e.g. installed under ~/gemma-work/): TL picked
      the architecture from the path ("GemmaForCausalLM is not currently supported" for the embedded GPT-2);
      its conversion then reads the same folder through a neutral symlink.
    Other sources load unchanged. Call it under the backend's load lock: the patch is process-wide."""
    import tempfile

    from transformer_lens import loading_from_pretrained as tl_loading

    if not is_folder and _known_by_name(source, tl_loading):
        yield
        return
    from transformers import AutoConfig

    try:
        hf = AutoConfig.from_pretrained(source)
    except Exception:  # not loadable here: let TL's own load report it
        yield
        return
    original = tl_loading.convert_hf_model_config
    with tempfile.TemporaryDirectory(prefix="tl-config-") as tmp:
        if (getattr(hf, "architectures", None) or [None])[0] == GEMMA2:
            cfg = dict(tl_config(hf), tokenizer_name=source)
            if source not in tl_loading.OFFICIAL_MODEL_NAMES:
                tl_loading.OFFICIAL_MODEL_NAMES.append(source)
                _ADDED.add(source)
        elif is_folder and any(s in source.lower() for s in _SNIFFED):
            cfg = dict(original(_neutral_path(source, tmp)), tokenizer_name=source)
        else:
            yield
            return

        def convert(model_name, **kwargs):
            return dict(cfg) if model_name == source else original(model_name, **kwargs)

        tl_loading.convert_hf_model_config = convert
        try:
            yield
        finally:
            tl_loading.convert_hf_model_config = original
