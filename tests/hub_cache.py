"""A fake Hugging Face hub cache, in the real on-disk layout, for the registry's *hub* code path.

build_hub_cache(root) writes, under root/hub (= HF_HUB_CACHE when HF_HOME=root):

    models--gpt2/                                   what `HookedSAETransformer.from_pretrained("gpt2")` reads
        refs/main                                   the commit hash (no trailing newline: huggingface_hub
                                                    reads it with f.read(), unstripped)
        blobs/<sha>                                 file contents (git-sha1 for small files, sha256 for LFS
                                                    files, as the hub names its etags)
        snapshots/<commit>/<file> -> ../../blobs/<sha>
    models--jbloom--GPT2-Small-SAEs-Reformatted/    sae-lens release "gpt2-small-res-jb"
        snapshots/<commit>/blocks.{0,1}.hook_resid_pre/{cfg.json, sae_weights.safetensors, sparsity.safetensors}

Offline (HF_HUB_OFFLINE=1), huggingface_hub's `_hf_hub_download_to_cache_dir` turns a filename into
`snapshots/<refs/main>/<filename>` and returns it if it exists, so nothing is fetched.

The model is a tiny, randomly initialised GPT-2 (2 layers, d_model 64, 4 heads) with a tiny byte-level BPE
tokenizer, so a test can tell it apart from the real gpt2-small (12 layers, d_model 768). The SAEs are
standard ReLU SAEs (d_in 64, d_sae 128) whose cfg.json uses the legacy (pre-6.0 sae-lens) keys of the real
jbloom repo (hook_point, dtype "torch.float32", no sae_lens_version), so sae-lens's legacy path is exercised.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

MODEL_REPO = "gpt2"  # ModelSpec("gpt2-small").source
SAE_RELEASE = "gpt2-small-res-jb"
SAE_REPO = "jbloom/GPT2-Small-SAEs-Reformatted"  # sae_lens/pretrained_saes.yaml: gpt2-small-res-jb.repo_id
SAE_IDS = ("blocks.0.hook_resid_pre", "blocks.1.hook_resid_pre")  # path == id in that release

N_LAYER, D_MODEL, N_HEAD, N_CTX = 2, 64, 4, 128
D_SAE = 128
VOCAB_SIZE = 400
BOS = "<|endoftext|>"
SEED = 0

_SUBJECTS = ("The cat", "A dog", "My friend", "The old man", "Her sister", "The teacher", "A small bird",
             "The children", "Our neighbour", "The farmer")
_VERBS = ("saw", "liked", "found", "helped", "followed", "called", "painted", "visited")
_OBJECTS = ("the river.", "a red house.", "the market.", "the garden.", "an apple.", "the station.")
_EXTRA = (
    "Hello world.", "Hello, world!", "Hello there, how are you?", "The world is wide and the sea is deep.",
    "When Mary and John went to the store, John gave a drink to Mary.",
    "It was a bright cold day in April.", "The sun rose over the hills.", "She opened the door and smiled.",
    "He wrote a letter to his mother.", "We walked home in the rain.", "They sang songs by the fire.",
    "The train was late again today.", "I think it will snow tonight.", "Please pass the salt.",
    "Where did you put the keys?", "The book is on the table.", "Nobody knew the answer.",
    "Time flies like an arrow.", "The quick brown fox jumps over the lazy dog.", "One, two, three, four.",
)


def corpus() -> list[str]:
    """A few hundred short English sentences, deterministic."""
    made = [f"{s} {v} {o}" for s in _SUBJECTS for v in _VERBS for o in _OBJECTS]  # 480
    return list(_EXTRA) * 5 + made


# --- on-disk cache layout ------------------------------------------------------------------
def _git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _write_repo(hub_cache: Path, repo_id: str, files: dict[str, bytes]) -> Path:
    """Write one model repo into the cache; returns its snapshot folder."""
    repo_dir = hub_cache / ("models--" + repo_id.replace("/", "--"))
    commit = hashlib.sha1(("fake-commit:" + repo_id).encode()).hexdigest()  # 40 hex, like a git commit
    (repo_dir / "refs").mkdir(parents=True, exist_ok=True)
    (repo_dir / "refs" / "main").write_text(commit)  # no newline
    snapshot = repo_dir / "snapshots" / commit
    for rel, data in sorted(files.items()):
        lfs = rel.endswith(".safetensors")
        etag = hashlib.sha256(data).hexdigest() if lfs else _git_blob_sha1(data)
        blob = repo_dir / "blobs" / etag
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
        link = snapshot / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        try:  # the hub links snapshot files to blobs with relative symlinks
            link.symlink_to(os.path.relpath(blob, link.parent))
        except OSError:  # no symlinks (e.g. Windows without developer mode): the hub then copies too
            shutil.copyfile(blob, link)
    return snapshot


def _read_folder(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --- contents ------------------------------------------------------------------------------
def _model_files() -> dict[str, bytes]:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, min_frequency=2, special_tokens=[BOS],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(corpus(), trainer)
    assert tok.token_to_id(BOS) == 0
    hf_tok = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=BOS, eos_token=BOS, pad_token=BOS,
                                     unk_token=BOS, model_max_length=N_CTX)

    torch.manual_seed(SEED)
    config = GPT2Config(vocab_size=len(hf_tok), n_layer=N_LAYER, n_embd=D_MODEL, n_head=N_HEAD,
                        n_positions=N_CTX, n_ctx=N_CTX,  # TransformerLens reads n_ctx from config.json
                        bos_token_id=0, eos_token_id=0)
    model = GPT2LMHeadModel(config).eval()
    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp, safe_serialization=True)  # config.json, generation_config.json, model.safetensors
        hf_tok.save_pretrained(tmp)  # tokenizer.json, tokenizer_config.json
        return _read_folder(Path(tmp))


def _sae_files(sae_id: str, seed: int) -> dict[str, bytes]:
    import torch
    from safetensors.torch import save as st_save

    g = torch.Generator().manual_seed(seed)
    W_dec = torch.randn(D_SAE, D_MODEL, generator=g)
    W_dec = W_dec / W_dec.norm(dim=-1, keepdim=True)
    weights = {
        "W_enc": W_dec.T.contiguous() * 0.5,
        "b_enc": torch.randn(D_SAE, generator=g) * 0.1,
        "W_dec": W_dec.contiguous(),
        "b_dec": torch.randn(D_MODEL, generator=g) * 0.01,
    }
    layer = int(sae_id.split(".")[1])
    cfg = {  # the legacy keys of jbloom/GPT2-Small-SAEs-Reformatted/<id>/cfg.json, shrunk
        "model_name": "gpt2-small",
        "hook_point": sae_id,
        "hook_point_layer": layer,
        "hook_point_head_index": None,
        "dataset_path": "Skylion007/openwebtext",
        "is_dataset_tokenized": False,
        "context_size": N_CTX,
        "use_cached_activations": False,
        "d_in": D_MODEL,
        "device": "mps",
        "seed": 42,
        "dtype": "torch.float32",
        "b_dec_init_method": "geometric_median",
        "expansion_factor": D_SAE // D_MODEL,
        "from_pretrained_path": None,
        "l1_coefficient": 8e-05,
        "lr": 0.0004,
        "train_batch_size": 4096,
        "d_sae": D_SAE,
        "run_name": f"{D_SAE}-L1-8e-05-LR-0.0004-fake",
    }
    return {
        f"{sae_id}/cfg.json": json.dumps(cfg, indent=2).encode(),
        f"{sae_id}/sae_weights.safetensors": st_save(weights),
        f"{sae_id}/sparsity.safetensors": st_save({"sparsity": torch.full((D_SAE,), -2.0)}),
    }


def build_hub_cache(root: Path) -> dict:
    """Build the cache under root (used as HF_HOME). Returns paths and facts for the tests."""
    root = Path(root)
    hub_cache = root / "hub"
    model_snapshot = _write_repo(hub_cache, MODEL_REPO, _model_files())
    sae_files: dict[str, bytes] = {}
    for i, sid in enumerate(SAE_IDS):
        sae_files.update(_sae_files(sid, seed=SEED + 1 + i))
    sae_snapshot = _write_repo(hub_cache, SAE_REPO, sae_files)
    config = json.loads((model_snapshot / "config.json").read_text())
    return {
        "hf_home": str(root),
        "hub_cache": str(hub_cache),
        "model_snapshot": str(model_snapshot),
        "sae_snapshot": str(sae_snapshot),
        "files": sorted(p.relative_to(hub_cache).as_posix() for p in hub_cache.rglob("*") if p.is_file()),
        "n_layers": N_LAYER,
        "d_model": D_MODEL,
        "n_heads": N_HEAD,
        "n_ctx": N_CTX,
        "d_vocab": config["vocab_size"],
        "d_sae": D_SAE,
        "sae_ids": list(SAE_IDS),
    }


def offline_env(info: dict) -> dict:
    """os.environ for a subprocess that sees only this cache and never the network."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_"))}
    env.update(HF_HOME=info["hf_home"], HF_HUB_CACHE=info["hub_cache"], HF_HUB_OFFLINE="1",
               TRANSFORMERS_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_DISABLE_PROGRESS_BARS="1",
               TOKENIZERS_PARALLELISM="false")
    env.pop("TRANSFORMERS_CACHE", None)
    return env


if __name__ == "__main__":  # python3 tests/hub_cache.py /tmp/fakehf  -> build and list
    import sys

    out = build_hub_cache(Path(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="fakehf-")))
    print(json.dumps(out, indent=2))
