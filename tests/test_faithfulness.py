"""The trace reports what the model computes: checked against HF transformers and sae-lens directly."""
import numpy as np
import torch

from tests.conftest import build_request


def test_attention_equals_hf_eager_attention(backend, spec):
    from transformers import GPT2LMHeadModel

    trace = backend.trace(build_request(prompt="In the beginning God created the heavens and the earth."))
    hf = GPT2LMHeadModel.from_pretrained(spec.source, attn_implementation="eager").eval()
    with torch.no_grad():
        out = hf(torch.from_numpy(trace.tokens)[None], output_attentions=True)
    hf_att = torch.stack(out.attentions, 1)[0].numpy()  # [layer, head, q, k]
    assert hf_att.shape == trace.attention.shape
    assert np.abs(hf_att - trace.attention).max() <= 1e-5
    hf_lp = torch.log_softmax(out.logits[0, -1], -1).numpy()
    assert np.abs(hf_lp - trace.next_token_logprobs).max() <= 1e-4


def test_sae_activations_equal_sae_lens_encode(backend, spec):
    trace = backend.trace(build_request(top_k=8))
    _, cache = backend.model.run_with_cache(torch.from_numpy(trace.tokens)[None])
    for s in spec.saes:
        sae = backend.sae(s.id)
        with torch.no_grad():
            feats = sae.encode(cache[s.hook][0])  # [pos, d_sae]
        top = feats.topk(8, dim=-1)
        acts = trace.saes[s.id]
        np.testing.assert_allclose(acts.top_act, top.values.numpy(), atol=1e-5)  # float32 rounding: the trace's
        # lean pass and TL's forward multiply in a different order (differences ~1e-6)
        live = acts.top_act > 0  # ties among zeros may order differently
        assert (acts.top_idx[live] == top.indices.numpy()[live]).all()
        np.testing.assert_array_equal(acts.l0, (feats > 0).sum(-1).numpy())


def test_residual_norms_equal_the_cache(backend):
    trace = backend.trace(build_request())
    _, cache = backend.model.run_with_cache(torch.from_numpy(trace.tokens)[None])
    for l in range(trace.n_layers):
        np.testing.assert_allclose(trace.resid_pre_norm[l], cache[f"blocks.{l}.hook_resid_pre"][0].norm(dim=-1), rtol=1e-5)
        np.testing.assert_allclose(trace.resid_mid_norm[l], cache[f"blocks.{l}.hook_resid_mid"][0].norm(dim=-1), rtol=1e-5)
        np.testing.assert_allclose(trace.resid_post_norm[l], cache[f"blocks.{l}.hook_resid_post"][0].norm(dim=-1), rtol=1e-5)


def test_sparse_decode_gives_the_dense_reconstruction(backend, monkeypatch):
    """The trace decodes a sparse matrix when few latents are active; the reconstruction (error norms, FVU)
    is the dense one's, for the embedded TopK SAE and a standard ReLU SAE."""
    from sae_lens import StandardSAE, StandardSAEConfig

    from interp.backends import transformer_lens as tlb
    from interp.backends import common

    req = build_request(saes=("blocks.2.hook_resid_post",))
    dense = backend.trace(req).saes["blocks.2.hook_resid_post"]
    monkeypatch.setattr(common, "SPARSE_DECODE_BELOW", 1.0)  # force the sparse path (k=32 of 768 is 4 %)
    sparse = backend.trace(req).saes["blocks.2.hook_resid_post"]
    np.testing.assert_allclose(sparse.error_norm, dense.error_norm, rtol=1e-5, atol=1e-5)
    assert abs(sparse.fvu - dense.fvu) < 1e-6

    torch.manual_seed(0)
    cfg = StandardSAEConfig(d_in=128, d_sae=4096)
    cfg.metadata.hook_name = "blocks.2.hook_resid_post"
    sae = StandardSAE(cfg).eval()
    feats = torch.zeros(20, 4096)
    feats.scatter_(1, torch.randint(0, 4096, (20, 8)), torch.rand(20, 8))
    with torch.no_grad():
        got = tlb._decode(sae, feats, int((feats > 0).sum()))
        want = sae.decode(feats)
    assert torch.allclose(got, want, atol=1e-5)
