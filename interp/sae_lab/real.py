"""The real-layer preset: a layer's residual activations on held-out text, read through the backend's one
forward primitive (backend.run, which holds the forward lock for one 128-token window at a time, so other
sessions wait at most one short pass), and what an SAE trained on them does when spliced into the model."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from interp.errors import BadInput
from interp.sae_lab.config import SAEWeights
from interp.sae_lab.train import decoder_directions

HELDOUT = Path(__file__).resolve().parents[2] / "assets" / "heldout_sample.jsonl"  # scripts/build_heldout_sample.py
CTX = 128  # tokens per window, as the embedded SAEs were trained
EVAL_SHARE = 0.1  # the last windows are kept out of the lab's training: EV, dead latents and CE are measured there


@dataclass(frozen=True)
class LayerData:
    hook: str
    train: np.ndarray  # [n_train_tokens, d_model], BOS positions dropped (sae-lens excludes them)
    eval: np.ndarray  # [n_eval_tokens, d_model]
    eval_windows: np.ndarray  # [n_eval_windows, CTX] token ids, for CE with the SAE spliced in
    mean: np.ndarray  # [d_model] mean training activation (the mean-ablation baseline)

    @property
    def scale(self) -> float:
        """sae-lens's expected_average_only_in: inputs scaled to mean norm sqrt(d_model) while training."""
        return float(np.sqrt(self.train.shape[1]) / np.linalg.norm(self.train, axis=-1).mean())

    def batches(self):
        train = torch.from_numpy(self.train.copy())  # torch wants writable memory; one copy per run
        return lambda n, gen: train[torch.randint(len(train), (n,), generator=gen)]


def heldout_docs() -> list[str]:
    return [json.loads(line) for line in HELDOUT.read_text().splitlines() if line.strip()]


def layer_activations(backend, hook: str, max_windows: int = 200) -> LayerData:
    """Residual activations at `hook` on the held-out sample (~22k tokens on the embedded tokenizer)."""
    from interp.training.evaluate_sae import windows

    if hook not in backend.model.hook_dict:
        raise BadInput(f"This model has no hook point {hook!r}.")
    wins = windows(backend.model.tokenizer, heldout_docs(), CTX)[:max_windows]  # [n, CTX]
    acts = []
    for w in wins:  # one window per locked pass: another session's trace never waits behind the whole sample
        _, cache = backend.run(torch.from_numpy(w)[None], record={hook}, last_logits_only=True)
        acts.append(cache[hook][0, 1:].float().numpy())
    n_eval = max(2, int(len(wins) * EVAL_SHARE))
    train, ev = np.concatenate(acts[:-n_eval]), np.concatenate(acts[-n_eval:])
    out = LayerData(hook, train, ev, wins[-n_eval:], train.mean(0))
    for a in (out.train, out.eval, out.eval_windows, out.mean):  # shared by every session through the page's cache
        a.flags.writeable = False
    return out


def ce_recovered(backend, data: LayerData, weights: SAEWeights, max_windows: int = 6) -> dict:
    """Next-token cross-entropy on held-out windows: clean, with the SAE's reconstruction spliced in at its hook
    (BOS untouched), and with the hook mean-ablated; recovered = (ablated - spliced) / (ablated - clean)."""
    sae, mean = weights.sae(), torch.tensor(data.mean)

    def replace(fn):
        def hook(act, hook=None):  # act [1, pos, d_model]
            out = act.clone()
            out[:, 1:] = fn(act[:, 1:])
            return out
        return [(data.hook, hook)]

    runs = {"clean": [], "spliced": replace(lambda x: sae.decode(sae.encode(x))),
            "ablated": replace(lambda x: mean.expand_as(x))}
    ce = {k: [] for k in runs}
    with torch.no_grad():
        for w in data.eval_windows[:max_windows]:
            tokens = torch.tensor(w)[None]
            for name, fwd in runs.items():
                logp = torch.log_softmax(backend.run(tokens, fwd)[0].float(), -1)
                ce[name].append(float(-logp[0, :-1].gather(-1, tokens[0, 1:, None]).mean()))
    out = {f"ce_{k}": float(np.mean(v)) for k, v in ce.items()}
    gap = out["ce_ablated"] - out["ce_clean"]
    out["ce_recovered"] = (out["ce_ablated"] - out["ce_spliced"]) / gap if gap > 1e-9 else float("nan")
    return out


def closest_shipped(learned: SAEWeights, shipped_W_dec: np.ndarray, labels: dict, fires: np.ndarray) -> list[dict]:
    """For each learned latent, the shipped SAE feature whose decoder direction is closest (cosine), with its
    offline label; sorted by how often the learned latent fires on the held-out windows."""
    s = np.asarray(shipped_W_dec, dtype=np.float64)
    cos = decoder_directions(learned) @ (s / np.maximum(np.linalg.norm(s, axis=-1, keepdims=True), 1e-12)).T
    best = cos.argmax(1)
    rows = [{"latent": j, "fires": float(fires[j]), "shipped feature": int(best[j]), "cosine": float(cos[j, best[j]]),
             "label": labels.get(str(int(best[j])), {}).get("label", "")} for j in range(cos.shape[0])]
    return sorted(rows, key=lambda r: -r["fires"])


def shipped_decoder(backend, sae_id: str) -> np.ndarray:
    """[d_sae, d_model] the shipped SAE's decoder (loaded through the backend's SAE cache)."""
    with torch.no_grad():
        return backend.sae(sae_id).W_dec.detach().float().numpy().copy()


def shipped_labels(backend, sae_id: str) -> dict:
    path = backend.spec.sae(sae_id).labels_path
    return json.loads(path.read_text()) if path is not None and path.exists() else {}
