"""The dashboard file of one SAE: gzip'd safetensors (arrays) with a JSON header (labels, vocabulary, lineage
names). Reading needs numpy and safetensors only (no torch, no model), so the app can open it cheaply."""
from __future__ import annotations

import gzip
import json
import struct
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

FILE = "dashboard.safetensors.gz"


def write(path: Path, arrays: dict[str, np.ndarray], meta: dict) -> int:
    from safetensors.numpy import save

    data = save({k: np.ascontiguousarray(v) for k, v in arrays.items()}, metadata={"json": json.dumps(meta)})
    blob = gzip.compress(data, compresslevel=9, mtime=0)
    path.write_bytes(blob)
    return len(blob)


def read(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    from safetensors.numpy import load

    data = gzip.decompress(Path(path).read_bytes())
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    return load(data), json.loads(header["__metadata__"]["json"])


@dataclass(frozen=True)
class Context:
    kind: str  # "top" or "band i"
    tokens: tuple[str, ...]
    acts: tuple[float, ...]
    center: int  # index of the token the context was picked for

    @property
    def act(self) -> float:
        return self.acts[self.center]


class Dashboard:
    """Read-only view of one SAE's dashboard file."""

    def __init__(self, arrays: dict[str, np.ndarray], meta: dict):
        self.a, self.meta = arrays, meta
        for v in self.a.values():
            v.setflags(write=False)

    @classmethod
    def load(cls, path: Path) -> "Dashboard":
        return cls(*read(path))

    @classmethod
    def load_optional(cls, path: Path | None) -> tuple["Dashboard | None", str | None]:
        """(dashboard, None); (None, None) when there is no file (hub SAEs); (None, one sentence) when the file
        cannot be read: an optional asset, read defensively like labels.json (interp.labels)."""
        if path is None or not path.exists():
            return None, None
        try:
            dash = cls.load(path)
            if len(dash.meta["features"]) != dash.d_sae or "density" not in dash.a or not dash.vocab:
                raise ValueError("incomplete")  # the parts every view reads
        except Exception as e:  # noqa: BLE001  (gzip, struct, JSON and safetensors each raise their own kind)
            return None, f"The feature dashboard {path.name} could not be read ({type(e).__name__}); it is not shown."
        return dash, None

    @property
    def d_sae(self) -> int:
        return len(self.a["max_act"])

    @property
    def vocab(self) -> list[str]:
        return self.meta["vocab"]

    @cached_property
    def _left(self) -> int:
        return int(self.meta["left"])

    def label(self, f: int) -> dict:
        return self.meta["features"][f]

    def density(self, f: int) -> float:
        return float(self.a["density"][f])

    def contexts(self, f: int) -> list[Context]:
        out = []
        n_top, per_band = self.meta["n_top"], self.meta["per_band"]
        for c in range(self.a["ctx_tokens"].shape[1]):
            ids, acts = self.a["ctx_tokens"][f, c], self.a["ctx_acts"][f, c]
            keep = ids >= 0
            if not keep[self._left]:
                continue
            kind = "top" if c < n_top else f"band {(c - n_top) // per_band}"
            out.append(Context(kind, tuple(self.vocab[i] for i in ids[keep]), tuple(float(x) for x in acts[keep]),
                               int(keep[:self._left].sum())))
        return out

    def histogram(self, f: int) -> tuple[np.ndarray, np.ndarray]:
        """(bin lower edges, counts) of the non-zero activations on the label text."""
        counts = self.a["hist"][f]
        return np.linspace(0.0, float(self.a["max_act"][f]), len(counts) + 1)[:-1], counts

    def logit_table(self, f: int) -> dict[str, list[tuple[str, float]]]:
        return {d: [(self.vocab[i], float(x)) for i, x in zip(self.a[f"logit_{k}_ids"][f], self.a[f"logit_{k}"][f])]
                for d, k in (("promoted", "up"), ("suppressed", "down"))}

    def similar(self, f: int) -> list[tuple[int, float]]:
        return [(int(i), float(c)) for i, c in zip(self.a["similar_ids"][f], self.a["similar_cos"][f])]

    def lineage(self, f: int) -> list[dict]:
        """Best match in the previous and next layer's SAE, by decoder cosine and by co-activation."""
        out = []
        for side in ("prev", "next"):
            sae = self.meta.get(f"{side}_sae")
            if not sae:
                continue
            for how, key, score in (("decoder cosine", "dec_id", "dec_cos"), ("co-activation", "coact_id", "coact")):
                out.append({"side": side, "sae": sae, "how": how, "feature": int(self.a[f"{side}_{key}"][f]),
                            "score": float(self.a[f"{side}_{score}"][f])})
        return out

    def features_for_token(self, token_id: int) -> list[tuple[int, float]]:
        ids, mean = self.a["token_feat_ids"][token_id], self.a["token_feat_mean"][token_id]
        return [(int(i), float(m)) for i, m in zip(ids, mean) if i >= 0]
