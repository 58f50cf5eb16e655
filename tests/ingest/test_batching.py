"""The writer's group commit (ingest.batching): when a batch is taken, what it holds."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import pytest

from ingest.batching import batch_wait, take_batch


@dataclass
class Item:
    name: str
    weight: int


@pytest.mark.parametrize(
    ("rows", "age", "batch_ms", "closing", "expected"),
    [
        # batch_ms 0: an idle writer takes what is there at once, whatever the load
        (6, 0.0, 0, False, 0.0),
        (60_000, 0.0, 0, False, 0.0),
        # a linger: the oldest frame waits that long for company …
        (6, 0.0, 20, False, 0.02),
        (6, 0.015, 20, False, pytest.approx(0.005)),
        (6, 0.02, 20, False, 0.0),
        # … and no longer: frames that queued during a long write go at once
        (6, 3.0, 20, False, 0.0),
        (6, 0.15, 200, False, pytest.approx(0.05)),
        (5000, 0.0, 200, False, 0.0),  # a full batch goes at once
        (6, 0.0, 200, True, 0.0),  # closing: write everything now
    ],
)
def test_batch_wait(rows: int, age: float, batch_ms: int, closing: bool, expected: float) -> None:
    wait = batch_wait(
        queued_rows=rows,
        oldest_age_s=age,
        batch_rows=5000,
        batch_s=batch_ms / 1000,
        closing=closing,
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
