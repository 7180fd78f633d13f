"""One test per TransformerLens run-time patch (interp/backends/tl_patches.py): each does what it says, and
nothing more (TL's own results are unchanged)."""
from __future__ import annotations

import torch

from interp.backends import tl_patches


def test_allow_local_folder_lists_the_folder_once(backend):
    from transformer_lens import loading_from_pretrained as tl_loading

    source = str(backend.spec.source)
    tl_patches.allow_local_folder(source)  # the load already did it; a second call adds nothing
    assert any(n.endswith(backend.spec.source.split("/")[-1]) for n in tl_loading.OFFICIAL_MODEL_NAMES)
    assert sum(n == str(__import__("pathlib").Path(source).resolve()) for n in tl_loading.OFFICIAL_MODEL_NAMES) == 1


def test_one_weight_copy_frees_the_superseded_dict_and_restores_tl():
    from transformer_lens.weight_processing import ProcessWeights

    before = {n: ProcessWeights.__dict__[n] for n in tl_patches._COPYING_STEPS}
    d_model, vocab = 4, 6
    sd = {"unembed.W_U": torch.randn(d_model, vocab), "unembed.b_U": torch.randn(vocab)}
    expected = ProcessWeights.center_unembed(dict(sd))  # TL's own result on a copy
    with tl_patches.one_weight_copy_at_a_time():
        assert ProcessWeights.__dict__["center_unembed"] is not before["center_unembed"]
        got = ProcessWeights.center_unembed(sd)
    assert sd == {}  # the superseded dict was emptied ...
    assert all(torch.equal(got[k], expected[k]) for k in expected)  # ... and TL's numbers are unchanged
    assert {n: ProcessWeights.__dict__[n] for n in tl_patches._COPYING_STEPS} == before


def test_fast_unembed_is_tls_product(backend):
    u = backend.model.unembed
    assert "forward" in vars(u)  # the instance's forward is ours
    x = torch.randn(1, 3, backend.model.cfg.d_model)
    with torch.no_grad():
        ours = u(x)
        tl = torch.nn.functional.linear(x, u.W_U.T.contiguous(), u.b_U)
    torch.testing.assert_close(ours, tl, rtol=1e-5, atol=1e-5)


def test_lean_weights_ride_on_the_model_outside_its_state_dict(backend):
    from interp import lean_forward

    lean_forward.prepare(backend.model)
    w = tl_patches.attached(backend.model)
    assert w is not None and w.source == backend.model.blocks[0].attn.W_Q.data_ptr()
    assert not any("lean" in k for k in backend.model.state_dict())
