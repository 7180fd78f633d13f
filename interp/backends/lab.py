"""The SAE lab's verbs of the model interface (interp.sae_lab.real does the work): a layer's activations on the
held-out sample (one locked 128-token window per forward pass), CE with a lab-trained SAE spliced in, and a
shipped SAE's decoder and labels for the closest-feature table. Training itself never touches the model."""
from __future__ import annotations


class LabVerbs:
    def lab_layer(self, hook: str):
        from interp.sae_lab.real import layer_activations

        return layer_activations(self, hook)

    def lab_ce(self, data, weights) -> dict:
        from interp.sae_lab.real import ce_recovered

        return ce_recovered(self, data, weights)

    def lab_shipped(self, sae_id: str) -> tuple:
        """(decoder [d_sae, d_model], labels) of a shipped SAE."""
        from interp.sae_lab.real import shipped_decoder, shipped_labels

        return shipped_decoder(self, sae_id), shipped_labels(self, sae_id)
