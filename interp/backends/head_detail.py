"""The head-detail verbs of the model interface: one head's QK split, value-weighted pattern and anatomy, and the
direct logit attribution. Each reads a cached Trace plus weights (no forward pass); the maths is in
interp.analysis (qk, head_math, anatomy, dla). A backend provides the weights through head_weights(layer),
unembed_weights(token) and embeddings(tokens); one that cannot says so in a sentence."""
from __future__ import annotations

from interp.errors import BadInput


class HeadDetailVerbs:
    def head_weights(self, layer: int) -> dict:
        raise BadInput(f"The {type(self).__name__} does not expose attention weights; this view needs TransformerLens.")

    def unembed_weights(self, token: int) -> dict:
        raise BadInput(f"The {type(self).__name__} does not expose the unembedding; this view needs TransformerLens.")

    def embeddings(self, tokens):
        raise BadInput(f"The {type(self).__name__} does not expose the embeddings; this view needs TransformerLens.")

    def qk_split(self, trace, layer: int, head: int, query: int, key: int):
        from interp.analysis.qk import qk_split

        return qk_split(self, trace, layer, head, query, key)

    def value_weighted(self, trace, layer: int):
        """([head, q, k] ||a_ij v_j W_O||, [head, k] ||v_j W_O||) of one layer; with a norm after attention (Gemma
        2) the first is what reaches the residual at query i, through that norm with its scale frozen."""
        from interp.analysis.head_math import HeadWeights, sent_norms, value_weighted_norms

        w = HeadWeights.from_backend(self.head_weights(layer))
        sent = sent_norms(trace.resid_stack[layer], w)
        if w.post_w is None:
            return trace.attention[layer] * sent[:, None, :], sent
        return value_weighted_norms(trace.resid_stack[layer], trace.attention[layer], w), sent

    def head_anatomy(self, trace, layer: int, head: int, query: int):
        from interp.analysis.anatomy import head_anatomy
        from interp.analysis.head_math import HeadWeights

        w = HeadWeights.from_backend(self.head_weights(layer))
        return head_anatomy(trace.resid_stack[layer], trace.attention[layer, head, query], w, layer, head, query,
                            trace.str_tokens)

    def token_choices(self, trace, pos: int):
        from interp.analysis.dla import token_choices

        return token_choices(self, trace, pos)

    def logit_attribution(self, trace, pos: int, token: int):
        from interp.analysis.dla import logit_attribution

        return logit_attribution(self, trace, pos, token)
