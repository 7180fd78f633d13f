"""One short in-memory SAE run: sae-lens's TrainingSAE classes and SAETrainer (its Adam, LR schedule, L1
warm-up, dead-latent tracking, gradient clipping), driven one step at a time through SAETrainer.step, the seam
sae-lens's own MultiSAETrainer uses, so that a page can draw progress and stop a run. sae-lens's fit() reads
an activation store and logs to W&B; what it lacks here is only a loop that yields."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
import torch

from interp.sae_lab.config import LabConfig, SAEWeights

Batches = Callable[[int, torch.Generator], torch.Tensor]  # (batch size, generator) -> [batch, d_in]
POINTS = 60  # history rows per run: enough for a smooth live chart, few enough to redraw cheaply


@dataclass(frozen=True)
class Progress:
    step: int
    steps: int
    history: tuple[dict, ...]  # {"step", "reconstruction", "sparsity", "l0"}, each averaged since the last row
    weights: SAEWeights  # the SAE as it is now (a stopped run keeps what it had learned)
    seconds: float

    @property
    def done(self) -> bool:
        return self.step >= self.steps


def make_sae(cfg: LabConfig, d_in: int):
    """A sae-lens TrainingSAE (StandardTrainingSAE or TopKTrainingSAE), seeded."""
    from sae_lens import StandardTrainingSAE, StandardTrainingSAEConfig, TopKTrainingSAE, TopKTrainingSAEConfig

    with torch.random.fork_rng(devices=[]):  # seeded init without resetting the server-wide RNG other sessions use
        torch.manual_seed(cfg.seed)
        if cfg.arch == "topk":
            return TopKTrainingSAE(TopKTrainingSAEConfig(d_in=d_in, d_sae=cfg.d_sae, k=cfg.k))
        # the L1 penalty ramps up over the first 5 % of steps, so latents find directions before it bites
        return StandardTrainingSAE(StandardTrainingSAEConfig(d_in=d_in, d_sae=cfg.d_sae, l1_coefficient=cfg.l1,
                                                             l1_warm_up_steps=cfg.steps // 20))


def train(cfg: LabConfig, d_in: int, batches: Batches, scale: float | None = None) -> Iterator[Progress]:
    """Yield Progress about POINTS times, the last one with step == cfg.steps. scale: inputs are multiplied by it
    while training (sae-lens's expected_average_only_in) and it is folded into the weights that come out."""
    from sae_lens import SAETrainer
    from sae_lens.config import SAETrainerConfig

    sae = make_sae(cfg, d_in)
    trainer = SAETrainer(SAETrainerConfig(total_training_samples=cfg.steps * cfg.batch, train_batch_size_samples=cfg.batch,
                                          lr=cfg.lr, lr_end=cfg.lr / 10, lr_decay_steps=cfg.steps // 5,  # decay over the last fifth
                                          dead_feature_window=max(20, cfg.steps // 10)),
                         sae, data_provider=iter(()))
    trainer.activation_scaler.scaling_factor = scale
    gen = torch.Generator().manual_seed(cfg.seed)
    every, sums, n, history, t0 = max(1, cfg.steps // POINTS), np.zeros(3), 0, [], time.perf_counter()
    for step in range(1, cfg.steps + 1):
        out = trainer.step(batches(cfg.batch, gen))
        trainer.n_training_steps += 1
        with torch.no_grad():
            sparsity = sum(float(v) for k, v in out.losses.items() if k != "mse_loss")
            sums += (float(out.losses["mse_loss"]), sparsity, float((out.feature_acts > 0).sum(-1).float().mean()))
        n += 1
        if step % every == 0 or step == cfg.steps:
            history.append({"step": step, "reconstruction": sums[0] / n, "sparsity": sums[1] / n, "l0": sums[2] / n})
            sums, n = np.zeros(3), 0
            yield Progress(step, cfg.steps, tuple(history), snapshot(sae, scale), time.perf_counter() - t0)


def run(cfg: LabConfig, d_in: int, batches: Batches, scale: float | None = None) -> Progress:
    """A run to the end (bench, tests, sweeps)."""
    for p in train(cfg, d_in, batches, scale):
        pass
    return p


@torch.no_grad()
def snapshot(sae, scale: float | None) -> SAEWeights:
    """The weights in input units, as sae-lens saves them: the training scale folded in
    (fold_activation_norm_scaling_factor), then the architecture's own inference processing (TopK folds the
    decoder norm into the encoder)."""
    sd = {k: v.detach().clone() for k, v in sae.state_dict().items()}
    if scale is not None:
        sd["W_enc"] *= scale
        sd["W_dec"] /= scale
        sd["b_dec"] /= scale
    if getattr(sae.cfg, "rescale_acts_by_decoder_norm", False):
        norm = sd["W_dec"].norm(dim=-1)  # [d_sae]
        sd["W_enc"] *= norm
        sd["b_enc"] *= norm
        sd["W_dec"] /= norm[:, None]
    return SAEWeights(sae.cfg.architecture(), int(getattr(sae.cfg, "k", 0)),
                      *(sd[n].numpy() for n in ("W_enc", "b_enc", "W_dec", "b_dec")))


@torch.no_grad()
def evaluate(weights: SAEWeights, x: np.ndarray) -> dict:
    """On inputs x [n, d_in]: mean L0, explained variance 1 - sum|x - x_hat|^2 / sum|x - mean x|^2,
    dead latents (never active on x), and each latent's firing rate."""
    sae = weights.sae()
    xt = torch.from_numpy(np.array(x, dtype=np.float32))  # a copy: cached inputs are read-only
    acts = sae.encode(xt)  # [n, d_sae]
    recon = sae.decode(acts)
    fires = (acts > 0).float().mean(0).numpy()  # [d_sae]
    ev = 1 - float(((xt - recon) ** 2).sum() / ((xt - xt.mean(0)) ** 2).sum().clamp_min(1e-12))
    return {"l0": float((acts > 0).sum(-1).float().mean()), "explained_variance": ev,
            "mse": float(((xt - recon) ** 2).sum(-1).mean()), "dead": int((fires == 0).sum()), "fires": fires}


def decoder_directions(weights: SAEWeights) -> np.ndarray:
    """[d_sae, d_in] unit decoder directions."""
    W = np.asarray(weights.W_dec, dtype=np.float64)
    return W / np.maximum(np.linalg.norm(W, axis=-1, keepdims=True), 1e-12)
