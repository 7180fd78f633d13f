"""One-click examples: each is a run (model, prompt, SAE, page, view settings) that shows something on the
embedded model. They go through session.apply(), the same path as loading a run record."""
from __future__ import annotations

from dataclasses import dataclass, field

from interp.registry import DEFAULT_MODEL


@dataclass(frozen=True)
class Example:
    title: str
    description: str
    page: str
    state: dict = field(default_factory=dict)


def _run(prompt: str, sae: str | None = None, model: str = DEFAULT_MODEL, **view) -> dict:
    return {"model": model, "prompt": prompt, "sae": sae, "view": view}


# Every description states one measurable claim; tests/test_examples.py measures each on the real model.
STEER_SAE, STEER_FEATURE, STEER_MULT = "blocks.2.hook_resid_post", 656, 2.0
EXAMPLES: list[Example] = [
    Example("Steer Austen toward scripture (L2 feature 656)",
            "Adding L2 feature 656 at 2× its max activation (‖αW_dec‖ ≈ 0.4× the mean residual norm, inside its "
            "working range) turns an Austen sentence toward scripture: over 20 sampled 30-token continuations, "
            "scripture words (God, Israel, Yahweh, Jerusalem, …) rise from 0.05 to 1.75 per continuation (in 55 % "
            "of continuations, against 5 %), while the text's loss under the unsteered model stays within 0.5 nats "
            "of the base and repeated bigrams within +0.15 (no loops).",
            "sae-features",
            _run("She walked into the room and", STEER_SAE, steer_f0=STEER_FEATURE, steer_a0=STEER_MULT,
                 sae_view="steering")),
    Example("The most previous-token-like head (L2H3)",
            "Of the 16 heads, L2H3 puts the largest share of its attention on the previous token on this sentence "
            "(0.30; no head is a clean previous-token head here), and the previous token is its top choice for "
            "half of the queries.",
            "attention",
            _run("It is a truth universally acknowledged, that a single man in possession of a good fortune, "
                 "must be in want of a wife.", "blocks.2.hook_resid_post", attn_layer=2, attn_head=3,
                 attn_bos="cap")),
    Example("Induction head (attention-only model)",
            "tiny-induction on a sentence written twice: L1H1 has the highest induction score of the four heads "
            "(0.20; a perfect induction head scores about 0.5 here, since the first copy has nothing to look back "
            "at), and L0H0 the highest previous-token score (0.53): the two halves of an induction circuit.",
            "attention",
            _run("The old man gave the young girl a red apple and a silver coin. "
                 "The old man gave the young girl a red apple and a silver coin.", None, model="tiny-induction",
                 attn_layer=1, attn_head=1, attn_score="induction")),
    Example("An induction head writes a feature",
            "tiny-induction, layer-1 SAE feature 42: zero on every token of the first copy of the sentence, 4.5 at "
            "the second ' red'. There L1H1 writes more than 90 % of its pre-activation, reading ' app' (the token "
            "that followed ' red' the first time).",
            "compare",
            _run("The old man gave the young girl a red apple and a silver coin. "
                 "The old man gave the young girl a red apple and a silver coin.", "blocks.1.hook_resid_post",
                 model="tiny-induction", sae_feature=42, sae_token=26, attn_layer=1, attn_head=1)),
    Example("Which components write 'God'?",
            "L2 feature 464 is zero at the first ' God' and fires (0.94) at the second. There the L1 MLP writes the "
            "largest share of it (0.90 of 0.94).",
            "compare",
            _run("In the beginning, God created the heavens and the earth. And God said, Let there be light",
                 "blocks.2.hook_resid_post", sae_feature=464, sae_token=14)),
    Example("Two prompts: Elizabeth vs Jesus",
            "The same sentence with one name changed (same token count, so positions line up). L2 feature 577 "
            "(heroine names: Catherine, Fanny, Elizabeth) fires on A (2.5) and not at all on B, one of the two "
            "features that differ most.",
            "compare",
            _run("Then Elizabeth said to her, Go in peace.", "blocks.2.hook_resid_post",
                 prompt2="Then Jesus said to her, Go in peace.", compare_view="two")),
]
