"""A least-recently-used cache bounded by the bytes its values hold (and optionally by count and age).

One structure for the two shared caches whose entries vary a lot in size: traces (components/cached.py;
4 MB for the tiny model at 256 tokens, ~40 MB for gpt2-small) and loaded SAEs (the backend; < 1 MB embedded,
151 MB for a gpt2-small-res-jb SAE). st.cache_resource bounds only the number of entries.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict


class BoundedLRU:
    """get(key, compute) returns the cached value or computes, stores and returns it. Least recently used
    first out while the values' total size is over max_bytes or their number over max_items; the entry just
    asked for always stays, even when it alone is over the budget. Entries older than ttl_s are computed
    again. compute() runs outside the cache's own lock (callers that must not compute twice hold their own)."""

    def __init__(self, max_bytes: float, *, max_items: int | None = None, ttl_s: float | None = None,
                 size=lambda value: value.nbytes):
        self.max_bytes, self.max_items, self.ttl_s, self.size = max_bytes, max_items, ttl_s, size
        self._items: OrderedDict = OrderedDict()  # key -> (value, its size, time stored)
        self._lock = threading.Lock()
        self.nbytes = 0

    def get(self, key, compute):
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and (self.ttl_s is None or time.monotonic() - hit[2] < self.ttl_s):
                self._items.move_to_end(key)
                self._trim()
                return hit[0]
        value = compute()
        n = self.size(value)
        with self._lock:
            if key in self._items:
                self.nbytes -= self._items.pop(key)[1]
            self._items[key] = (value, n, time.monotonic())
            self.nbytes += n
            self._trim()
        return value

    def _trim(self) -> None:
        while len(self._items) > 1 and (self.nbytes > self.max_bytes
                                        or (self.max_items is not None and len(self._items) > self.max_items)):
            self.nbytes -= self._items.popitem(last=False)[1][1]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self):
        """Keys, least recently used first."""
        return iter(list(self._items))


def deep_nbytes(value, _depth: int = 0) -> int:
    """Bytes a cached result holds: numpy arrays and tensors by their buffers, containers and frozen
    dataclasses by their parts, anything else as 64 bytes (one small Python object)."""
    n = getattr(value, "nbytes", None)
    if isinstance(n, int):
        return n
    if _depth > 6:
        return 64
    if isinstance(value, (str, bytes)):
        return len(value)
    if isinstance(value, dict):
        return sum(deep_nbytes(k, _depth + 1) + deep_nbytes(v, _depth + 1) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return 64 + sum(deep_nbytes(v, _depth + 1) for v in value)
    fields = getattr(value, "__dataclass_fields__", None)
    if fields:
        return sum(deep_nbytes(getattr(value, f), _depth + 1) for f in fields)
    return 64
