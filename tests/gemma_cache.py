"""A reduced Gemma 2 and Gemma Scope-format JumpReLU SAEs in a local Hugging Face cache (no hub), reusable.

build_gemma_cache(root) writes, under root/hub (= HF_HUB_CACHE when HF_HOME=root), in the hub's layout
(tests/hub_cache.py):

    models--interp-test--gemma-2-reduced/       Gemma2ForCausalLM, random weights: 4 layers, d_model 256,
        config.json, model.safetensors,         4 query heads sharing 2 key/value heads (head_dim 64),
        tokenizer.json, ...                     sliding window 6 on layers 0 and 2 (shorter than the test
                                                prompts), attention scores soft-capped at 50 and logits at 30,
                                                a 512-token byte-level BPE trained here
    models--interp-test--gemma-scope-2b-reduced-res/
        layer_<l>/width_16k/average_l0_<n>/params.npz     Gemma Scope's file format (W_enc, W_dec, b_enc,
                                                          b_dec, threshold), d_sae 1024

In the process that loads them, register(info) adds the model to interp.registry through the same
`gemma_scope()` the real gemma-2-2b uses (same processing flags, same SAE ids and hooks) and the SAEs to
sae-lens's pretrained directory as a release with the same converter as gemma-scope-2b-pt-res-canonical
("gemma_2"); only d_in/d_sae are overridden, as sae-lens's config_overrides allow. sae-lens's Gemma Scope
loader reads d_in and the model from the repo id ("2b" -> 2304), hence "2b" in the test repo's name.

Weights are scaled so the architecture's special parts act: query/key weights make raw attention scores
reach well past the soft cap, and the (tied) embedding makes raw logits exceed the logit cap. Thresholds are
set per latent at a quantile of its pre-activation on a held-out corpus, so about FIRE_SHARE of the latents
fire on a token (Gemma Scope's 16k SAEs fire ~0.5-1 %, L0 ~ 50-150).

Use it from a subprocess with tests.hub_cache.offline_env(info): huggingface_hub reads HF_HOME at import.
"""
from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

from tests.hub_cache import _read_folder, _write_repo, corpus

MODEL_NAME = "gemma-2-reduced-test"  # registry name
MODEL_REPO = "interp-test/gemma-2-reduced"
SAE_RELEASE = "interp-test-gemma-scope-reduced-res"
SAE_REPO = "interp-test/gemma-scope-2b-reduced-res"
N_LAYER, D_MODEL, N_HEAD, N_KV, D_HEAD, D_MLP, N_CTX = 4, 256, 4, 2, 64, 512, 128
WINDOW, ATTN_CAP, LOGIT_CAP, QUERY_SCALAR = 6, 50.0, 30.0, 48
VOCAB_SIZE, D_SAE, FIRE_SHARE = 512, 1024, 0.01
SPECIALS = ("<pad>", "<eos>", "<bos>", "<unk>")  # Gemma's ids 0-3
SEED = 0


def _tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, min_frequency=2, special_tokens=list(SPECIALS),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(corpus(), trainer)
    assert [tok.token_to_id(s) for s in SPECIALS] == [0, 1, 2, 3]
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>", bos_token="<bos>",
                                   unk_token="<unk>", model_max_length=N_CTX)


def _model(vocab: int):
    import torch
    from transformers import Gemma2Config, Gemma2ForCausalLM

    torch.manual_seed(SEED)
    config = Gemma2Config(
        vocab_size=vocab, hidden_size=D_MODEL, intermediate_size=D_MLP, num_hidden_layers=N_LAYER,
        num_attention_heads=N_HEAD, num_key_value_heads=N_KV, head_dim=D_HEAD, max_position_embeddings=N_CTX,
        sliding_window=WINDOW, attn_logit_softcapping=ATTN_CAP, final_logit_softcapping=LOGIT_CAP,
        query_pre_attn_scalar=QUERY_SCALAR, pad_token_id=0, eos_token_id=1, bos_token_id=2,
        tie_word_embeddings=True, architectures=["Gemma2ForCausalLM"])
    model = Gemma2ForCausalLM(config).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):  # Gemma's RMSNorm multiplies by (1 + w): random w tests the +1
                p.copy_(torch.randn_like(p) * 0.3)
            elif "q_proj" in name or "k_proj" in name:
                p.mul_(6.0)  # raw scores reach the cap of 50
            elif "embed_tokens" in name:
                p.normal_(0.0, 0.3)  # tied: raw logits reach the cap of 30
    return model


def _sae_params(x, g):
    """Gemma Scope params for residual activations x [tokens, d_model] (one layer). Returns (params, l0 share)."""
    import torch

    W_dec = torch.randn(D_SAE, D_MODEL, generator=g)
    W_dec = W_dec / W_dec.norm(dim=-1, keepdim=True)
    scale = 1.0 / x.norm(dim=-1).mean()  # pre-activations of order 1 on this layer's residuals
    W_enc = (W_dec.T + 0.3 * torch.randn(D_MODEL, D_SAE, generator=g) / D_MODEL ** 0.5) * scale
    b_enc = 0.05 * torch.randn(D_SAE, generator=g)
    pre = x @ W_enc + b_enc  # [tokens, d_sae]
    threshold = pre.quantile(1 - FIRE_SHARE, dim=0).clamp_min(1e-3)  # per latent
    params = {"W_enc": W_enc, "W_dec": W_dec, "b_enc": b_enc, "b_dec": 0.01 * torch.randn(D_MODEL, generator=g),
              "threshold": threshold}
    return {k: v.contiguous().numpy() for k, v in params.items()}


def _resid_posts(model, tokenizer) -> list:
    """[tokens, d_model] residual after each block on the held-out corpus (BOS excluded), from HF's own forward."""
    import torch

    texts = corpus()[::7][:48]
    out = [[] for _ in range(N_LAYER)]
    handles = [layer.register_forward_hook(lambda m, a, o, l=l: out[l].append((o[0] if isinstance(o, tuple) else o)[0, 1:]))
               for l, layer in enumerate(model.model.layers)]
    with torch.no_grad():
        for t in texts:
            ids = tokenizer("<bos>" + t, return_tensors="pt").input_ids
            model(ids)
    for h in handles:
        h.remove()
    return [torch.cat(xs) for xs in out]


def sae_folder(layer: int) -> str:
    return f"layer_{layer}/width_16k/average_l0_{10 + layer}"  # the canonical id points here, as in sae-lens's yaml


def build_gemma_cache(root: Path) -> dict:
    import numpy as np
    import torch

    root = Path(root)
    hub_cache = root / "hub"
    tokenizer = _tokenizer()
    model = _model(len(tokenizer))
    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        model_snapshot = _write_repo(hub_cache, MODEL_REPO, _read_folder(Path(tmp)))
    g = torch.Generator().manual_seed(SEED + 1)
    files = {}
    for l, x in enumerate(_resid_posts(model, tokenizer)):
        buf = io.BytesIO()
        np.savez(buf, **_sae_params(x, g))
        files[f"{sae_folder(l)}/params.npz"] = buf.getvalue()
    sae_snapshot = _write_repo(hub_cache, SAE_REPO, files)
    return {"hf_home": str(root), "hub_cache": str(hub_cache), "model_snapshot": str(model_snapshot),
            "sae_snapshot": str(sae_snapshot), "model": MODEL_NAME, "n_layers": N_LAYER, "d_model": D_MODEL,
            "n_heads": N_HEAD, "n_kv_heads": N_KV, "window": WINDOW, "n_ctx": N_CTX, "d_sae": D_SAE, "d_vocab": len(tokenizer)}


def register(info: dict | None = None):
    """In the process that will load it: the test model in interp's registry (through registry.gemma_scope, as
    gemma-2-2b) and its SAE release in sae-lens's directory. Idempotent. Returns the ModelSpec."""
    from sae_lens.loading.pretrained_saes_directory import PretrainedSAELookup, get_pretrained_saes_directory

    from interp.registry import REGISTRY, gemma_scope

    directory = get_pretrained_saes_directory()  # cached dict: every sae-lens lookup sees the entry
    if SAE_RELEASE not in directory:
        ids = [f"layer_{l}/width_16k/canonical" for l in range(N_LAYER)]
        directory[SAE_RELEASE] = PretrainedSAELookup(
            release=SAE_RELEASE, repo_id=SAE_REPO, model=MODEL_NAME, conversion_func="gemma_2",
            saes_map={i: sae_folder(l) for l, i in enumerate(ids)}, expected_var_explained={i: 1.0 for i in ids},
            expected_l0={i: 0.0 for i in ids}, neuronpedia_id={i: None for i in ids}, norm_scaling_factor={},
            config_overrides={"d_in": D_MODEL, "d_sae": D_SAE, "model_name": MODEL_NAME})
    if MODEL_NAME not in REGISTRY.models:
        REGISTRY.register(gemma_scope(MODEL_NAME, "Reduced Gemma 2 + Gemma Scope-format SAEs (test)", MODEL_REPO,
                                      N_LAYER, SAE_RELEASE, description="Random weights; tests only."))
    return REGISTRY.get(MODEL_NAME)


if __name__ == "__main__":  # python3 -m tests.gemma_cache /tmp/fakegemma -> build and print the facts
    import sys

    print(json.dumps(build_gemma_cache(Path(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="gemma-"))), indent=2))
