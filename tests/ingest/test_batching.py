"""The writer's batching policy (ingest.batching): when a batch is taken, what it holds."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import pytest

from ingest.batching import Batching, batch_wait, take_batch


@dataclass
class Item:
    name: str
    weight: int


@pytest.mark.parametrize(
    ("policy", "rows", "age", "closing", "expected"),
    [
        # group commit: an idle writer takes what is there at once, whatever the load
        ("group", 6, 0.0, False, 0.0),
        ("group", 1, 0.001, False, 0.0),
        ("group", 60_000, 0.0, False, 0.0),
        # timed: waits for rows or for the oldest frame's age
        ("timed", 6, 0.0, False, 0.2),
        ("timed", 6, 0.15, False, pytest.approx(0.05)),
        ("timed", 6, 0.2, False, 0.0),
        ("timed", 6, 3.0, False, 0.0),
        ("timed", 5000, 0.0, False, 0.0),  # a full batch goes at once
        ("timed", 6, 0.0, True, 0.0),  # closing: write everything now
    ],
)
def test_batch_wait(
    policy: Batching, rows: int, age: float, closing: bool, expected: float
) -> None:
    wait = batch_wait(
        policy, queued_rows=rows, oldest_age_s=age, batch_rows=5000, batch_s=0.2, closing=closing
    )
    assert wait == expected


@pytest.mark.parametrize(
    ("weights", "batch_rows", "taken", "rows", "left"),
    [
        ([6, 6, 6], 5000, 3, 18, 0),  # everything queued fits
        ([6] * 10, 30, 5, 30, 5),  # stops once the rows are reached
        ([6] * 10, 31, 6, 36, 4),  # the frame that crosses the limit is still taken
        ([9000, 6], 5000, 1, 9000, 1),  # a heavy first frame goes alone
        ([], 5000, 0, 0, 0),
    ],
)
def test_take_batch(weights: list[int], batch_rows: int, taken: int, rows: int, left: int) -> None:
    queue = deque(Item(str(i), w) for i, w in enumerate(weights))
    batch, got = take_batch(queue, batch_rows)
    assert (len(batch), got, len(queue)) == (taken, rows, left)
    assert [i.name for i in batch] == [str(i) for i in range(taken)]  # in arrival order
