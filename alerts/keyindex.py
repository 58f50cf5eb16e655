"""A hash look-up of int64 keys in numpy arrays: key → position in the key list.

The alert engine finds the slot of each value of a batch by its key ``station << 16 |
factor``; this is the vectorised form of ``{key: position}.get(key, -1)``.  Open
addressing with linear probing at a load factor ≤ 0.5 and Fibonacci hashing; inserting
and looking up run in rounds over the keys not yet placed / resolved (a handful at this
load), so Python does work per round, never per key.  Keys are appended (their positions
count on), never removed; the table doubles when it gets half full.
"""

from __future__ import annotations

import numpy as np

__all__ = ["KeyIndex"]

_EMPTY = -1
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIN_BITS = 10


class KeyIndex:
    """Positions of distinct non-negative int64 keys, in the order they were added."""

    __slots__ = ("_keys", "_mask", "_pos", "_shift", "size")

    def __init__(self) -> None:
        self.size = 0  # keys held
        self._alloc(_MIN_BITS)

    def _alloc(self, bits: int) -> None:
        self._shift = np.uint64(64 - bits)
        self._mask = (1 << bits) - 1
        self._keys = np.full(1 << bits, _EMPTY, np.int64)
        self._pos = np.full(1 << bits, _EMPTY, np.int64)

    def _home(self, keys: np.ndarray) -> np.ndarray:
        return ((keys.astype(np.uint64) * _GOLDEN) >> self._shift).astype(np.int64)

    def extend(self, keys: np.ndarray) -> None:
        """Add new keys; they get the positions ``size, size + 1, …``."""
        keys = np.asarray(keys, np.int64)
        if 2 * (self.size + len(keys)) > self._keys.size:  # grow: re-insert what we hold
            held = self._pos >= 0
            old_keys, old_pos = self._keys[held], self._pos[held]
            self._alloc((2 * (self.size + len(keys))).bit_length())
            self._insert(old_keys, old_pos)
        self._insert(keys, np.arange(self.size, self.size + len(keys), dtype=np.int64))
        self.size += len(keys)

    def _insert(self, keys: np.ndarray, pos: np.ndarray) -> None:
        at = self._home(keys)
        while keys.size:
            free = self._keys[at] == _EMPTY
            self._keys[at[free]] = keys[free]  # of keys aimed at one place, one lands
            landed = np.zeros(keys.size, bool)
            landed[free] = self._keys[at[free]] == keys[free]
            self._pos[at[landed]] = pos[landed]
            going = ~landed
            keys, pos, at = keys[going], pos[going], at[going]
            at[self._keys[at] != _EMPTY] += 1  # a loser retries its place, now taken
            at &= self._mask

    def get(self, keys: np.ndarray) -> np.ndarray:
        """The position of each key (-1: not held)."""
        keys = np.asarray(keys, np.int64)
        found = np.full(keys.size, _EMPTY, np.int64)
        at = self._home(keys)
        todo = np.arange(keys.size)
        while todo.size:
            stored = self._keys[at]
            hit = stored == keys[todo]
            found[todo[hit]] = self._pos[at[hit]]
            going = ~hit & (stored != _EMPTY)
            todo, at = todo[going], (at[going] + 1) & self._mask
        return found
