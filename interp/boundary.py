"""The one typed boundary: every value a user, a link or a file can set is parsed here into its type.

Two steps, because a link is read before any model is loaded:
1. Here, each value is parsed from a link's text or a record's JSON into its type with a static range
   (FIELDS below: the documented ranges). Anything else raises BadInput with one sentence.
2. At the widget (components.session.bind), the value is checked against the loaded model and SAE
   (layer < n_layers, position < n_pos, feature < d_sae); `steer_range` gives those sentences.

Only BadInput (interp.errors) leaves this module. User text that goes into a message is passed through
`shown()`, so a link cannot make the app's own message render a link, an image or a colour.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from interp.errors import BadInput

MAX_LINK_PROMPT_CHARS = 2_000  # a prompt longer than this is not written into the URL (run records carry it)
MAX_LINK_CHARS = 16_000  # a link's query text above this is refused with a message (browsers/servers choke)
MAX_FEATURE = 1 << 24  # no SAE this app loads is wider (Gemma Scope 16k, res-jb 24,576); d_sae is checked later
MAX_LAYER, MAX_HEAD, MAX_POS = 256, 256, 4096
MAX_VOCAB = 1 << 20  # token ids (gemma's 256k vocabulary fits); the widget checks against the loaded model
STEER_MULT = 10.0  # steering strength in multiples of the feature's max activation: |x| <= 10 (the slider)
STEER_WHERE = ("all (generated tokens too)", "prompt only", "from a chosen token on")


def shown(value, limit: int = 80) -> str:
    """A user-set value as it may appear inside a Markdown message: its repr, cut to `limit` characters, as an
    inline code span. Inside code nothing is Markdown: no link (bare URLs are autolinked otherwise, even with
    their punctuation escaped), no image, emphasis, colour directive, LaTeX or HTML."""
    text = repr(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


@dataclass(frozen=True)
class Int:
    """An integer lo <= n < hi, from a link's text ('12') or a record's JSON (12; not 12.0, not true)."""
    lo: int
    hi: int
    what: str

    def __call__(self, value) -> int:
        if isinstance(value, str):
            text = value.strip()
            if not re.fullmatch(r"[+-]?\d{1,12}", text):
                raise BadInput(f"{self.what} must be a whole number, got {shown(value)}.")
            value = int(text)
        if isinstance(value, bool) or not isinstance(value, int):
            raise BadInput(f"{self.what} must be a whole number, got {shown(value)}.")
        if not self.lo <= value < self.hi:
            raise BadInput(f"{self.what} must be between {self.lo} and {self.hi - 1}, got {shown(value)}.")
        return value


@dataclass(frozen=True)
class Float:
    """A finite number lo <= x <= hi (NaN and infinities are refused, with a message, never dropped)."""
    lo: float
    hi: float
    what: str

    def __call__(self, value) -> float:
        if isinstance(value, str):
            if len(value) > 40:
                raise BadInput(f"{self.what} must be a number, got {shown(value)}.")
            try:
                value = float(value)
            except ValueError:
                raise BadInput(f"{self.what} must be a number, got {shown(value)}.") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise BadInput(f"{self.what} must be a number, got {shown(value)}.")
        value = float(value)
        if not math.isfinite(value):
            raise BadInput(f"{self.what} must be a finite number, got {shown(value)}.")
        if not self.lo <= value <= self.hi:
            raise BadInput(f"{self.what} must be between {self.lo:g} and {self.hi:g}, got {value:g}.")
        return value


@dataclass(frozen=True)
class Bool:
    what: str

    def __call__(self, value) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise BadInput(f"{self.what} must be true or false, got {shown(value)}.")


@dataclass(frozen=True)
class Choice:
    options: tuple[str, ...]
    what: str

    def __call__(self, value) -> str:
        if isinstance(value, str) and value in self.options:
            return value
        raise BadInput(f"{self.what} must be one of {', '.join(map(repr, self.options))}; got {shown(value)}.")


@dataclass(frozen=True)
class Text:
    max_chars: int
    what: str

    def __call__(self, value) -> str:
        if not isinstance(value, str):
            raise BadInput(f"{self.what} must be text, got {shown(value)}.")
        if len(value) > self.max_chars:
            raise BadInput(f"{self.what} has {len(value):,} characters; at most {self.max_chars:,} fit here.")
        if "\x00" in value:
            raise BadInput(f"{self.what} contains a NUL character.")
        return value


def _fields() -> dict:
    from interp.charts.attention import BOS_MODES, SCORE_TITLES
    from interp.requests import STEER_MODES

    n_steers = 3
    return {
        "attn_layer": Int(0, MAX_LAYER, "The layer"), "attn_head": Int(0, MAX_HEAD, "The head"),
        "attn_bos": Choice(tuple(BOS_MODES), "The BOS mode"), "attn_score": Choice(tuple(SCORE_TITLES), "The score"),
        "bertviz_hide_bos": Bool("Hide BOS"), "resid_bos": Bool("BOS"), "resid_per_pos": Bool("Per position"),
        "resid_log": Bool("Log scale"), "resid_sqrt_d": Bool("Scale by sqrt(d)"), "lens_pos": Int(0, MAX_POS, "The position"),
        "sae_token": Int(0, MAX_POS, "The token"), "sae_feature": Int(0, MAX_FEATURE, "The feature"),
        "gen_n": Int(5, 61, "New tokens"), "gen_temp": Float(0.0, 1.5, "The temperature"),
        "gen_seed": Int(0, 10_001, "The seed"), "steer_where": Choice(STEER_WHERE, "Where to steer"),
        "steer_start": Int(0, MAX_POS, "The first steered token"),
        "prompt2": Text(MAX_LINK_PROMPT_CHARS, "The second prompt"),
        # demo pass: the SAE page's one visible view, presentation mode, always-on features hidden
        "sae_view": Choice(("tokens", "detail", "health", "steering"), "The SAE page's view"),
        "presentation": Bool("Presentation mode"), "sae_hide_always_on": Bool("Hide always-on features"),
        # head detail: colour mode, anatomy query, QK cell (query, key, other key), logit-attribution position/token
        "attn_mode": Choice(("weight", "sent"), "The colour mode"), "anat_query": Int(0, MAX_POS, "The query"),
        "attn_anatomy": Bool("Head anatomy"), "attn_bertviz": Choice(("head", "model"), "The bertviz view"),
        "compare_view": Choice(("heads", "token", "qk", "two"), "The compare page's view"),
        "qk_query": Int(0, MAX_POS, "The query"), "qk_key": Int(0, MAX_POS, "The key"),
        "qk_other": Int(0, MAX_POS, "The other key"), "dla_pos": Int(0, MAX_POS, "The position"),
        "dla_token": Int(0, MAX_VOCAB, "The token"),
        # Features page: open SAE and feature, pane, search text and kind, token for "all layers"
        "feat_sae": Text(200, "The SAE"), "feat_id": Int(0, MAX_FEATURE, "The feature"),
        "feat_pane": Choice(("Search", "Feature", "All layers"), "The Features view"),
        "feat_q": Text(200, "The search text"), "feat_mode": Choice(("token", "label text", "phrase"), "The search kind"),
        "feat_tok": Int(0, MAX_POS, "The token"),
        **{f"steer_f{i}": Int(0, MAX_FEATURE, f"Steering feature {i + 1}") for i in range(n_steers)},
        **{f"steer_a{i}": Float(-STEER_MULT, STEER_MULT, f"Steering strength {i + 1}") for i in range(n_steers)},
        **{f"steer_mode{i}": Choice(STEER_MODES, f"Steering mode {i + 1}") for i in range(n_steers)},
    }


FIELDS = _fields()  # view setting (its URL name = its widget key) -> parser; the documented ranges


def steer_range(feature: int, d_sae: int, sae_id: str) -> str | None:
    """None if `feature` exists in an SAE of `d_sae` latents, else the sentence that says why not."""
    if 0 <= feature < d_sae:
        return None
    return f"Feature {feature} does not exist in SAE {shown(sae_id)}: it has {d_sae:,} latents (0 to {d_sae - 1:,})."


def check_depth(value, max_depth: int = 16, max_items: int = 100_000) -> None:
    """Refuse JSON nested deeper than `max_depth` or holding more than `max_items` values (iteratively: a
    deep file must not exhaust Python's recursion)."""
    stack, seen = [(value, 1)], 0
    while stack:
        item, depth = stack.pop()
        seen += 1
        if depth > max_depth:
            raise BadInput(f"This file nests more than {max_depth} levels deep; a run record never does.")
        if seen > max_items:
            raise BadInput(f"This file holds more than {max_items:,} values; a run record never does.")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)


@dataclass(frozen=True)
class Link:
    """What a link asks for, typed. None = the link does not set it. `messages`: one sentence per value
    that was ignored (already escaped for Markdown)."""
    model: str | None = None
    prompt: str | None = None
    sae: str | None = None
    view: tuple[tuple[str, object], ...] = ()
    messages: tuple[str, ...] = ()


PROMPT_CHARS = "prompt_chars"  # written instead of the prompt when the prompt is too long for a link


def read_link(params) -> Link:
    """Parse a link's query parameters ({name: text or [texts]}, the last one counts). Raises nothing but
    BadInput; in practice every bad value becomes a message and is ignored."""
    from interp.registry import DEFAULT_MODEL, REGISTRY

    try:
        items = {str(k): (v[-1] if isinstance(v, (list, tuple)) and v else v) for k, v in dict(params).items()}
    except (TypeError, ValueError):
        raise BadInput("This link's parameters could not be read.") from None
    items = {k: v for k, v in items.items() if isinstance(v, str)}
    messages = []
    size = sum(len(k) + len(v) + 2 for k, v in items.items())
    if size > MAX_LINK_CHARS:
        return Link(messages=(f"This link is {size:,} characters long; links of up to {MAX_LINK_CHARS:,} are read, "
                              "so its settings were ignored. Long prompts travel in a run record (sidebar).",))
    model = items.get("model")
    if model is not None and model not in REGISTRY.models:
        messages.append(f"Unknown model {shown(model)} in the link; showing {DEFAULT_MODEL} instead.")
        model = None
    prompt = items.get("prompt")
    if prompt is not None:
        try:
            prompt = Text(MAX_LINK_PROMPT_CHARS, "The link's prompt")(prompt)
        except BadInput as e:
            messages.append(f"{e} Showing the default prompt; long prompts travel in a run record (sidebar).")
            prompt = None
        else:
            prompt = prompt if prompt.strip() else None
    elif PROMPT_CHARS in items:
        messages.append(f"This link was made from a prompt too long for a link ({shown(items[PROMPT_CHARS], 12)} "
                        "characters); load its run record to see it. Showing the default prompt.")
    view = []
    for key, parse in FIELDS.items():
        if key in items:
            try:
                view.append((key, parse(items[key])))
            except BadInput as e:
                messages.append(f"Ignored {key} in the link: {e}")
    sae = items.get("sae")
    return Link(model, prompt, sae, tuple(view), tuple(messages))
