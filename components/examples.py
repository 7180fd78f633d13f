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


EXAMPLES: list[Example] = [
    Example("Steer toward the Bible (feature 464)",
            "L2 feature 464 fires on 'God'/'Yahweh'; adding it at 1.5x its max activation turns an Austen "
            "sentence into scripture-like text. Compare the base and steered continuations.",
            "sae-features",
            _run("She walked into the room and", "blocks.2.hook_resid_post",
                 steer_f0=464, steer_a0=1.5, sae_view="steering")),
    Example("Previous-token head (L2H3)",
            "L2H3 attends mostly to the token just before the query: the diagonal stripe below the main diagonal.",
            "attention",
            _run("It is a truth universally acknowledged, that a single man in possession of a good fortune, "
                 "must be in want of a wife.", "blocks.2.hook_resid_post", attn_layer=2, attn_head=3,
                 attn_bos="cap")),
    Example("Induction head (attention-only model)",
            "tiny-induction's L1H1 on a sentence written twice: in the second copy each token attends to the token "
            "after its earlier occurrence (the stripe below the diagonal), helped by the previous-token head L0H0.",
            "attention",
            _run("The old man gave the young girl a red apple and a silver coin. "
                 "The old man gave the young girl a red apple and a silver coin.", None, model="tiny-induction",
                 attn_layer=1, attn_head=1, attn_score="induction")),
    Example("An induction head writes a feature",
            "tiny-induction, layer-1 SAE feature 42: zero on the first copy of the sentence, active on the second. At "
            "the second ' red' it is written almost entirely by L1H1, which reads ' app' (the token that followed "
            "' red' the first time).",
            "compare",
            _run("The old man gave the young girl a red apple and a silver coin. "
                 "The old man gave the young girl a red apple and a silver coin.", "blocks.1.hook_resid_post",
                 model="tiny-induction", sae_feature=42, sae_token=26, attn_layer=1, attn_head=1)),
    Example("Which heads write 'God'?",
            "The heads and MLPs that build feature 464 at the second 'God', and the source tokens they read.",
            "compare",
            _run("In the beginning, God created the heavens and the earth. And God said, Let there be light",
                 "blocks.2.hook_resid_post", sae_feature=464, sae_token=14)),
    Example("Two prompts: Elizabeth vs Jesus",
            "The same sentence with one name changed (same token count, so positions line up): which heads "
            "and features move.",
            "compare",
            _run("Then Elizabeth said to her, Go in peace.", "blocks.2.hook_resid_post",
                 prompt2="Then Jesus said to her, Go in peace.")),
]
