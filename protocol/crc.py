"""HJ 212 CRC — exact and fast.

Theory of operation
-------------------
HJ 212-2017 App. A (and HJ/T 212-2005 App. A in words) defines::

    reg = 0xFFFF
    for each byte b:  reg = (reg >> 8) ^ b ; 8 x (shift right, xor 0xA001 if the lsb was 1)

which in table form is ``reg = T[(reg >> 8) ^ b]`` with ``T`` the reflected
CRC-16/ARC table.  It is *not* CRC-16/MODBUS (that one keeps the low byte:
``reg = (reg >> 8) ^ T[(reg ^ b) & 0xFF]``); no crcmod parameter set computes it.

Only the high byte ``h = reg >> 8`` carries from byte to byte::

    h_k = Thi[h_{k-1} ^ b_k]          (Thi[x] = T[x] >> 8)
    crc = T[h_{n-1} ^ b_n]

``T`` is linear over GF(2), so ``Thi`` is a linear map ``M`` on 8-bit vectors
and ``h_{n-1} = M^(n-1)·0xFF  ^  XOR_d M^(d+1)·b_d`` where ``d`` is the distance
of byte ``b_d`` from the end of the prefix ``b_1..b_{n-1}``.  ``M`` has order 8
(``M^8 = I``, checked at import), so the contribution of a byte depends only on
``d mod 8``: XOR-folding the prefix into one 64-bit word (``d mod 8`` is the
byte lane) and mapping its eight lanes through ``M^(r+1)`` gives ``h_{n-1}``
exactly.  Folding is a handful of big-integer shifts and XORs done in C, so a
300-byte frame costs about 1 µs instead of about 9 µs for the table loop.

:func:`crc16` is the table loop compiled (``protocol._fastpath``) when it is built: the
fold's four 64 K-entry tables go cold in a busy ingest worker (4-5 µs a frame there,
issue 23); :func:`crc16_fold` is the pure-Python form (``ENVGRID_NO_EXTENSIONS``).

``crc16_reference`` is the standard's bitwise loop, kept as the oracle for the
tests.  ``crc16_batch`` computes many frames at once with numpy, for bulk
verification of archives.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final

from .compiled import compiled, fastpath

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "crc16",
    "crc16_batch",
    "crc16_fold",
    "crc16_modbus",
    "crc16_reference",
    "crc16_table_loop",
    "format_crc",
]


def _make_table(poly: int) -> tuple[int, ...]:
    table = []
    for i in range(256):
        reg = i
        for _ in range(8):
            reg = (reg >> 1) ^ poly if reg & 1 else reg >> 1
        table.append(reg)
    return tuple(table)


_T: Final = _make_table(0xA001)
_THI: Final = tuple(t >> 8 for t in _T)


def crc16_reference(data: bytes) -> int:
    """The HJ 212-2017 App. A algorithm, bit by bit (slow; the test oracle)."""
    reg = 0xFFFF
    for byte in data:
        reg = (reg >> 8) ^ byte
        for _ in range(8):
            lsb = reg & 1
            reg >>= 1
            if lsb:
                reg ^= 0xA001
    return reg


def crc16_table_loop(data: bytes) -> int:
    """Table form of the same algorithm (about 9 µs for a 300-byte frame)."""
    reg = 0xFFFF
    t = _T
    for byte in data:
        reg = t[(reg >> 8) ^ byte]
    return reg


def _m_power(x: int, k: int) -> int:
    for _ in range(k):
        x = _THI[x]
    return x


def _check_order() -> None:
    basis = [1 << i for i in range(8)]
    if [_m_power(b, 8) for b in basis] != basis:  # pragma: no cover - a property of T
        raise AssertionError("HJ 212 CRC state map does not have order 8")


_check_order()

# _LANE[r][v]: contribution of byte value v at distance d ≡ r (mod 8) from the end of the prefix.
_LANE: Final = tuple(tuple(_m_power(v, r + 1) for v in range(256)) for r in range(8))
# Pairs of lanes merged into 16-bit tables: one lookup per 16 bits of the folded word.
_L0, _L1, _L2, _L3 = (
    tuple(_LANE[2 * k][v & 0xFF] ^ _LANE[2 * k + 1][v >> 8] for v in range(65536)) for k in range(4)
)
_MAX_LEN: Final = 10_000
# _INIT[n]: the part of h_{n-1} that comes from the initial register 0xFFFF.
_INIT: Final = tuple(_m_power(0xFF, (k - 1) % 8) for k in range(8))
_MASKS: dict[int, int] = {}
_FOLDS: dict[int, tuple[tuple[int, int], ...]] = {}


def _fold_plan(n: int) -> tuple[tuple[int, int], ...]:
    """Shift/mask steps that fold an (n-1)-byte prefix into 64 bits, lane-preserving."""
    plan = []
    bits = (n - 1) * 8
    while bits > 64:
        half = ((bits + 127) // 128) * 64  # a multiple of 64 keeps byte lanes aligned
        mask = _MASKS.get(half)
        if mask is None:
            mask = _MASKS[half] = (1 << half) - 1
        plan.append((half, mask))
        bits = half
    return tuple(plan)


def crc16_fold(data: bytes) -> int:
    """HJ 212 CRC of ``data`` (the data segment), as an int 0..0xFFFF (pure Python)."""
    n = len(data)
    if n == 0:
        return 0xFFFF
    plan = _FOLDS.get(n)
    if plan is None:
        plan = _fold_plan(n)
        if n <= _MAX_LEN:
            _FOLDS[n] = plan
    v = int.from_bytes(data, "big") >> 8
    for half, mask in plan:
        v = (v >> half) ^ (v & mask)
    h = (
        _INIT[n % 8]
        ^ _L0[v & 0xFFFF]
        ^ _L1[(v >> 16) & 0xFFFF]
        ^ _L2[(v >> 32) & 0xFFFF]
        ^ _L3[v >> 48]
    )
    return _T[h ^ data[-1]]


#: HJ 212 CRC of ``data`` (the data segment), as an int 0..0xFFFF
crc16: Callable[[bytes], int] = compiled(fastpath, "crc16") or crc16_fold


def crc16_modbus(data: bytes) -> int:
    """CRC-16/MODBUS — what some field devices send instead (never the default)."""
    reg = 0xFFFF
    t = _T
    for byte in data:
        reg = (reg >> 8) ^ t[(reg ^ byte) & 0xFF]
    return reg


def format_crc(value: int) -> str:
    """The 4 upper-case hex digits the standard writes (``%04X``)."""
    return f"{value:04X}"


def crc16_batch(frames: Sequence[bytes]) -> list[int]:
    """HJ 212 CRCs of many data segments at once (numpy; exact).

    Each byte contributes ``T(M^d·b)`` to the final register, ``d`` counted from
    the last byte, so one gather from a (distance mod 8, byte) table and one
    ``bitwise_xor.reduceat`` give every frame's CRC.
    """
    import numpy as np

    if not frames:
        return []
    lens = np.fromiter((len(f) for f in frames), dtype=np.int64, count=len(frames))
    if int(lens.min()) == 0:
        return [crc16(f) for f in frames]
    table = _batch_table()
    buf = np.frombuffer(b"".join(frames), dtype=np.uint8)
    starts = np.zeros(len(frames), dtype=np.int64)
    np.cumsum(lens[:-1], out=starts[1:])
    ends = np.repeat(starts + lens, lens)
    dist = ends - 1 - np.arange(buf.size, dtype=np.int64)
    # a byte at distance d from the end contributes T[M^d b]; M^8 = I, so d mod 8 suffices.
    vals = table[(dist % 8) * 256 + buf]
    out = np.bitwise_xor.reduceat(vals, starts)
    init = np.array([_T[_INIT[k]] for k in range(8)], dtype=np.uint16)
    out ^= init[lens % 8]
    return [int(x) for x in out]


def _batch_table() -> npt.NDArray[np.uint16]:
    import numpy as np

    rows = [[_T[_m_power(v, r)] for v in range(256)] for r in range(8)]
    return np.array(rows, dtype=np.uint16).reshape(-1)
