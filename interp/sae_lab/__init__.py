"""SAE lab: train a small sparse autoencoder live (sae-lens classes and trainer), on a toy of superposition
or on a real layer's residual stream, and measure what it learned. Never imports streamlit.

- config.py: LabConfig (every value a user sets, range-checked), SAEWeights (numpy, what a page keeps)
- train.py:  the training loop as a generator of Progress (sae-lens SAETrainer.step), metrics
- toy.py:    n sparse features in d < n dimensions, and which latent recovered which feature
- real.py:   a layer's residual activations on held-out text, CE recovered, closest shipped SAE feature
- bench.py:  the two bench lines (python -m interp bench)
"""
