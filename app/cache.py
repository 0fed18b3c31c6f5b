"""Per-process caches bounded by size, for what never changes once made: a git blob (content
addressed), the HTML rendered from a text, a page fragment rendered from a version. Least recently
used entries go first once the cache holds `max_bytes`, so a worker's memory does not grow with the
number of distinct pages it has served."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class BoundedCache(Generic[V]):
    def __init__(self, max_bytes: int, size_of: Callable[[V], int]) -> None:
        self.max_bytes = max_bytes
        self.size_of = size_of
        self._items: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Hashable, make: Callable[[], V]) -> V:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                self.hits += 1
                return found[0]
            self.misses += 1
        value = make()  # outside the lock: two threads may both make it, which is harmless
        size = self.size_of(value)
        if size > self.max_bytes // 4:
            return value  # too big to be worth keeping
        with self._lock:
            if key not in self._items:
                self._items[key] = (value, size)
                self._bytes += size
                while self._bytes > self.max_bytes and self._items:
                    _key, (_value, gone) = self._items.popitem(last=False)
                    self._bytes -= gone
        return value

    @property
    def bytes(self) -> int:
        return self._bytes

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0
