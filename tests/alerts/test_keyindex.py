"""alerts.keyindex: the vectorised key → position look-up of the engine's slots."""

from __future__ import annotations

import numpy as np

from alerts.keyindex import KeyIndex


def test_positions_in_order_of_addition_across_growth() -> None:
    rng = np.random.default_rng(7)
    keys = np.unique((rng.integers(1, 40_000, 6000) << 16) | rng.integers(1, 60, 6000))
    rng.shuffle(keys)
    index = KeyIndex()
    assert index.get(keys[:5]).tolist() == [-1] * 5
    for part in np.array_split(keys, 9):  # grows several times on the way
        index.extend(part)
    assert index.size == len(keys)
    probe = np.concatenate([keys[::-1], [0, 1 << 40, 12345]])
    expect = {int(k): i for i, k in enumerate(keys)}
    assert index.get(probe).tolist() == [expect.get(int(k), -1) for k in probe]
    assert index.get(np.zeros(0, np.int64)).size == 0
