"""The models and SAEs a user can pick. Names are the keys used in the UI, the URL and the CLI.

Every entry goes through the same loader (interp.backends.transformer_lens.load_model):
`HookedSAETransformer.from_pretrained(spec.source, **spec.from_pretrained_kwargs)`, where `source` is an
official hub name or the embedded folder. SAEs are sae-lens SAEs: `SAE.load_from_disk(path)` for the
embedded ones, `SAE.from_pretrained(release, sae_id)` for hub ones.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from interp import hooks
from interp.errors import LoadError

ASSETS = Path(__file__).resolve().parent.parent / "assets"
EMBEDDED_DIR = ASSETS / "tiny-austen-bible"
INDUCTION_DIR = ASSETS / "tiny-induction"


@dataclass(frozen=True)
class SAESpec:
    id: str  # unique within its model; shown in the UI and URL
    hook: str  # TransformerLens hook the SAE reads and writes
    path: Path | None = None  # embedded: a folder in sae-lens format (cfg.json + sae_weights.safetensors)
    release: str | None = None  # hub: sae-lens pretrained release ...
    sae_id: str | None = None  # ... and id within it
    neuronpedia: str | None = None  # e.g. "gpt2-small/8-res-jb"

    @property
    def layer(self) -> int:
        return hooks.layer_of(self.hook)

    @property
    def labels_path(self) -> Path | None:
        return self.path / "labels.json" if self.path else None


@dataclass(frozen=True)
class ModelSpec:
    name: str
    title: str
    source: str  # official TransformerLens/HF name, or a local folder (embedded)
    saes: tuple[SAESpec, ...] = ()
    from_pretrained_kwargs: tuple[tuple[str, object], ...] = ()
    default_prompt: str = "When Mary and John went to the store, John gave a drink to"
    description: str = ""
    embedded: bool = False
    backend: str = "transformer_lens"  # or "nnsight" (interp.backends.nnsight_backend)
    remote: bool = False  # runs on NDIF; listed only when remote execution is configured (interp.remote)

    def sae(self, sae_id: str) -> SAESpec:
        for s in self.saes:
            if s.id == sae_id:
                return s
        known = ", ".join(s.id for s in self.saes) or "none"
        raise LoadError(f"{self.title} has no SAE called {sae_id!r}. Available: {known}.")

    @property
    def kwargs(self) -> dict:
        return dict(self.from_pretrained_kwargs)


@dataclass
class Registry:
    models: dict[str, ModelSpec] = field(default_factory=dict)

    def register(self, spec: ModelSpec) -> ModelSpec:
        if spec.name in self.models:
            raise ValueError(f"model {spec.name!r} is registered twice")
        ids = [s.id for s in spec.saes]
        if len(ids) != len(set(ids)):
            raise ValueError(f"model {spec.name!r} has duplicate SAE ids")
        self.models[spec.name] = spec
        return spec

    def get(self, name: str) -> ModelSpec:
        try:
            return self.models[name]
        except KeyError:
            raise LoadError(f"Unknown model {name!r}. Pick one of: {', '.join(self.names())}.") from None

    def names(self, remote: bool | None = None) -> list[str]:
        """Model names to offer; remote (NDIF) entries only when remote execution is configured."""
        if remote is None:
            from interp import remote as _remote

            remote = _remote.enabled()
        return [n for n, s in self.models.items() if remote or not s.remote]


def _resid_post_saes(folder: Path, n_layers: int) -> tuple[SAESpec, ...]:
    """Embedded SAEs: one per layer's hook_resid_post, in folder/saes/<hook name>/ (sae-lens format)."""
    return tuple(SAESpec(id=hooks.resid_post(l), hook=hooks.resid_post(l), path=folder / "saes" / hooks.resid_post(l))
                 for l in range(n_layers))


def _embedded() -> ModelSpec:
    return ModelSpec(
        name="tiny-austen-bible",
        title="Embedded: tiny GPT-2 (Austen + WEB Bible), offline",
        source=str(EMBEDDED_DIR),
        saes=_resid_post_saes(EMBEDDED_DIR, 4),
        # TransformerLens defaults (fold_ln, center_writing_weights, center_unembed); the SAEs were trained on it.
        from_pretrained_kwargs=(("center_writing_weights", True),),
        default_prompt="Elizabeth looked at Mr. Darcy and said that Elizabeth looked at Mr. Darcy",
        description="4 layers, d_model 128, 4 heads, 4096-token BPE; trained here on public-domain text.",
        embedded=True,
    )


def _gpt2_small() -> ModelSpec:
    layers = range(12)
    return ModelSpec(
        name="gpt2-small",
        title="gpt2-small + gpt2-small-res-jb (needs the hub)",
        source="gpt2",
        saes=tuple(
            SAESpec(id=hooks.resid_pre(l), hook=hooks.resid_pre(l), release="gpt2-small-res-jb",
                    sae_id=hooks.resid_pre(l), neuronpedia=f"gpt2-small/{l}-res-jb")
            for l in layers
        ),
        # what gpt2-small-res-jb's config_overrides ask for
        from_pretrained_kwargs=(("center_writing_weights", True),),
        description="OpenAI GPT-2 small (124M) with Joseph Bloom's residual-stream SAEs, one per layer.",
    )


def _induction() -> ModelSpec:
    return ModelSpec(
        name="tiny-induction",
        title="Embedded: attention-only 2 layers (previous-token + induction head), offline",
        source=str(INDUCTION_DIR),
        saes=_resid_post_saes(INDUCTION_DIR, 2),
        from_pretrained_kwargs=(("center_writing_weights", True),),
        default_prompt=("The old man gave the young girl a red apple and a silver coin. "
                        "The old man gave the young girl a red apple and a silver coin."),
        description="2 attention-only layers, d_model 128, 2 heads, same BPE and corpus. L0H0 is a previous-token "
                    "head (its query/key were built, its value/output learned) and L1H1 an induction head "
                    "(learned): see it on a repeated sentence. One TopK SAE per layer.",
        embedded=True,
    )


# Gemma Scope was trained on the unprocessed model: no LayerNorm folding, no centring
GEMMA_SCOPE_PROCESSING = (("fold_ln", False), ("center_writing_weights", False), ("center_unembed", False))


def gemma_scope(name: str, title: str, source: str, n_layers: int, release: str, neuronpedia: str | None = None,
                width: str = "16k", description: str = "") -> ModelSpec:
    """A Gemma 2 model with one Gemma Scope residual SAE per layer (sae-lens release ids
    "layer_<l>/width_<width>/canonical", reading blocks.<l>.hook_resid_post). tests/gemma_cache.py registers a
    reduced Gemma 2 through this same function."""
    return ModelSpec(
        name=name,
        title=title,
        source=source,
        saes=tuple(
            SAESpec(id=f"layer_{l}/width_{width}/canonical", hook=hooks.resid_post(l), release=release,
                    sae_id=f"layer_{l}/width_{width}/canonical",
                    neuronpedia=f"{neuronpedia}/{l}-gemmascope-res-{width}" if neuronpedia else None)
            for l in range(n_layers)
        ),
        from_pretrained_kwargs=GEMMA_SCOPE_PROCESSING,
        description=description,
    )


def _gemma_2_2b() -> ModelSpec:
    return gemma_scope("gemma-2-2b", "gemma-2-2b + Gemma Scope 16k (needs the hub, ~24 GB RAM to load)", "google/gemma-2-2b",
                       26, "gemma-scope-2b-pt-res-canonical", neuronpedia="gemma-2-2b",
                       description="Gated on the hub (accept the licence, set HF_TOKEN). Too large for Community Cloud.")


def _llama_3_1_8b() -> ModelSpec:
    """Too large for one small machine: runs on NDIF through nnsight. Llama Scope residual SAEs (32k latents,
    sae-lens release llama_scope_lxr_8x) are applied here to the activations NDIF sends back."""
    return ModelSpec(
        name="llama-3.1-8b",
        title="Llama-3.1-8B + Llama Scope (remote, NDIF)",
        source="meta-llama/Llama-3.1-8B",
        saes=tuple(SAESpec(id=f"l{l}r_8x", hook=hooks.resid_post(l), release="llama_scope_lxr_8x", sae_id=f"l{l}r_8x",
                           neuronpedia=f"llama3.1-8b/{l}-llamascope-res-32k") for l in range(32)),
        from_pretrained_kwargs=(("fold_ln", False), ("center_writing_weights", False), ("center_unembed", False)),
        description="Meta Llama 3.1 8B on NDIF (needs NDIF_API_KEY); each run is a round trip to NDIF.",
        backend="nnsight",
        remote=True,
    )


REGISTRY = Registry()
for _spec in (_embedded(), _induction(), _gpt2_small(), _gemma_2_2b(), _llama_3_1_8b()):
    REGISTRY.register(_spec)
DEFAULT_MODEL = "tiny-austen-bible"
