"""Train one TopK SAE per layer's residual stream (blocks.{l}.hook_resid_post) with sae-lens's own
multi-SAE runner: one forward pass of the LM feeds all four SAEs."""
from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from interp import hooks


@dataclass(frozen=True)
class SAETrainConfig:
    d_sae: int = 768
    k: int = 32
    training_tokens: int = 4_000_000
    context_size: int = 128
    batch_tokens: int = 2048
    lr: float = 2e-3
    seed: int = 0
    label_docs: int = 120  # training docs held out from SAE training, used (with val) for labels


def sae_folder(model_dir: Path, hook: str) -> Path:
    return model_dir / "saes" / hook


def train_saes(model_dir: Path, docs: list[str], cfg: SAETrainConfig, log=print, layers=None) -> dict:
    import datasets
    import torch
    from sae_lens import LoggingConfig, MultiSAETrainingRunner, MultiSAETrainingRunnerConfig, TopKTrainingSAEConfig

    from interp.backends.transformer_lens import load_model
    from interp.training.train_lm import split_docs

    torch.manual_seed(cfg.seed)
    spec = _spec_for(model_dir)
    model = load_model(spec)
    train_docs, _ = split_docs(docs, 0)
    train_docs = train_docs[cfg.label_docs :]  # the first label_docs stay unseen by the SAEs
    L = model.cfg.n_layers
    names = {f"L{l}": hooks.resid_post(l) for l in (range(L) if layers is None else layers)}
    run_cfg = MultiSAETrainingRunnerConfig(
        # inputs scaled to mean norm sqrt(d_in) while training (the residual norm here is ~80); sae-lens folds
        # the scale into the saved weights, so the SAE reads raw activations at inference
        saes={n: TopKTrainingSAEConfig(d_in=model.cfg.d_model, d_sae=cfg.d_sae, k=cfg.k,
                                       normalize_activations="expected_average_only_in") for n in names},
        hook_names=names,
        model_name=spec.source,
        dataset_path="local:austen+web+devil",
        streaming=False,
        context_size=cfg.context_size,
        training_tokens=cfg.training_tokens,
        train_batch_size_tokens=cfg.batch_tokens,
        store_batch_size_prompts=32,
        n_batches_in_buffer=64,  # buffer (64 x 128) must hold at least one training batch
        lr=cfg.lr,
        lr_warm_up_steps=100,
        lr_decay_steps=cfg.training_tokens // cfg.batch_tokens // 5,
        dead_feature_window=500,
        feature_sampling_window=500,
        logger=LoggingConfig(log_to_wandb=False),
        device="cpu",
        seed=cfg.seed,
        output_path=str(model_dir / "saes" / "_runner"),
        checkpoint_path=None,
        exclude_special_tokens=True,
        model_from_pretrained_kwargs=spec.kwargs,
        n_batches_for_norm_estimate=50,  # 100k tokens fix the input scale well; the default 1000 costs 2 M
    )
    t0 = time.time()
    ds = datasets.Dataset.from_dict({"text": train_docs})
    saes = MultiSAETrainingRunner(run_cfg, override_dataset=ds, override_model=model).run()
    wall = time.time() - t0
    log(f"trained {len(saes)} SAEs on {cfg.training_tokens:,} tokens in {wall:.0f} s")
    out = {}
    for n, hook in names.items():
        src, dst = model_dir / "saes" / "_runner" / n, sae_folder(model_dir, hook)
        dst.mkdir(parents=True, exist_ok=True)
        for f in src.iterdir():
            f.replace(dst / f.name)
        cfg_path = dst / "cfg.json"  # record the registry name, not this machine's folder
        sae_cfg = json.loads(cfg_path.read_text())
        sae_cfg["metadata"]["model_name"] = model_dir.name
        cfg_path.write_text(json.dumps(sae_cfg, indent=1))
        out[hook] = str(dst)
    shutil.rmtree(model_dir / "saes" / "_runner", ignore_errors=True)
    return {"wall_s": round(wall, 1), "tokens_per_s": round(cfg.training_tokens / wall), "folders": out}


def _spec_for(model_dir: Path):
    from interp.registry import ModelSpec

    return ModelSpec(name="train", title="embedded (training)", source=str(model_dir), embedded=True,
                     from_pretrained_kwargs=(("center_writing_weights", True),))
