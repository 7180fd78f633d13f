"""The steering sweep verb of the model interface (interp.steer_sweep does the work, batched through
interp.steer_batch): one steering spec's dose-response over a grid of strengths."""
from __future__ import annotations


class SweepVerbs:
    def steer_sweep(self, sae_id: str, prompt: str, feature: int, mode: str, start: int, seed: int = 0,
                    also: float | None = None):
        from interp.steer_sweep import sweep

        return sweep(self, sae_id, prompt, feature, mode, start, seed=seed, also=also)
