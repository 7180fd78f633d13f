"""TransformerLens hook names (hook names are data): every module names hooks through these functions, except
interp/lean_forward.py, which spells TL's names inline because it mirrors TL's forward pass line by line."""
from __future__ import annotations

import re


def resid_pre(layer: int) -> str:
    return f"blocks.{layer}.hook_resid_pre"


def resid_mid(layer: int) -> str:
    return f"blocks.{layer}.hook_resid_mid"


def resid_post(layer: int) -> str:
    return f"blocks.{layer}.hook_resid_post"


def pattern(layer: int) -> str:
    return f"blocks.{layer}.attn.hook_pattern"


def z(layer: int) -> str:
    return f"blocks.{layer}.attn.hook_z"


def v(layer: int) -> str:
    return f"blocks.{layer}.attn.hook_v"


def attn_out(layer: int) -> str:
    return f"blocks.{layer}.hook_attn_out"


def mlp_out(layer: int) -> str:
    return f"blocks.{layer}.hook_mlp_out"


_LAYER = re.compile(r"^blocks\.(\d+)\.")


def layer_of(hook_name: str) -> int:
    """'blocks.3.hook_resid_post' -> 3."""
    m = _LAYER.match(hook_name)
    if not m:
        raise ValueError(f"not a per-layer hook name: {hook_name!r}")
    return int(m.group(1))


_SHORT = re.compile(r"^blocks\.(\d+)\.(?:hook_)?(.+)$")


def short(name: str) -> str:
    """'blocks.2.hook_resid_post' -> 'L2 resid_post' (for narrow labels); other names are returned as they are."""
    m = _SHORT.match(name)
    return f"L{m.group(1)} {m.group(2).replace('hook_', '')}" if m else name
