"""Which standards tables a figure was computed by, said the way pages, reports, exports
and pushes say it — always from the tables themselves (``table.code``), never a fixed name.

* :func:`rule_spans` groups the local days of a period into runs judged by the same table
  (``registry.aqi_table``, ``registry.limits`` or ``registry.aqci`` of each day): a report
  from 2026-02-01 to 2026-03-31 has two AQI runs, HJ 633—2012 up to 2026-02-28 and
  HJ 633—2026 from 2026-03-01 (AQI-2026.md §0).
* :func:`rule_sentence` says it: ``"按 HJ 633—2026"`` for one run,
  ``"2026-02-01 至 2026-02-28 按 HJ 633—2012；2026-03-01 至 2026-03-31 按 HJ 633—2026"``
  for several.
* :func:`unverified_mark` is the "未核实" mark of a table that still holds values marked
  ``"verified": false`` (today: the HJ 663—2026 composite index, whose text is not in our
  files), with a one-line reason; ``None`` once the file (or an operator override with the
  same ``id``) has no such value, so correcting the table is a one-file change.

Pure functions, no database.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Final

from aggregates.standards import Standard

__all__ = [
    "UNVERIFIED",
    "RuleSpan",
    "codes",
    "document_code",
    "rule_sentence",
    "rule_spans",
    "unverified_mark",
]

#: The mark shown beside a figure computed from a table with unverified values.
UNVERIFIED: Final = "未核实"
#: What is taken from secondary sources, per kind of table (the reason line).
_SECOND_HAND: Final = {
    "aqci": "权重与规则取自二手资料",
    "aqi": "分级与分指数取自二手资料",
    "limits": "部分限值取自二手资料",
}
_KIND_ZH: Final = {"aqi": "AQI 分级与分指数", "limits": "浓度限值", "aqci": "综合指数"}
#: The document part of a table code: "HJ 663—2026" of "HJ 663—2026 综合指数".
_DOCUMENT: Final = re.compile(r"^[A-Z]+(?:/[A-Z])? ?[0-9.]+—[0-9]{4}")


@dataclass(frozen=True, slots=True)
class RuleSpan:
    """Local days ``first`` … ``last`` (inclusive) judged by the table ``code``."""

    first: date
    last: date
    code: str
    table_id: str

    def to_json(self) -> dict[str, str]:
        return {
            "from": self.first.isoformat(),
            "to": self.last.isoformat(),
            "standard": self.code,
            "id": self.table_id,
        }


def rule_spans(
    start: date, end: date, table_of: Callable[[date], Standard]
) -> tuple[RuleSpan, ...]:
    """The days ``[start, end)`` as runs of consecutive days with the same table
    (``table_of(day)``, e.g. ``registry.aqi_table``); empty when ``end <= start``."""
    spans: list[RuleSpan] = []
    day = start
    while day < end:
        table = table_of(day)
        if spans and spans[-1].table_id == table.id:
            spans[-1] = RuleSpan(spans[-1].first, day, table.code, table.id)
        else:
            spans.append(RuleSpan(day, day, table.code, table.id))
        day += timedelta(days=1)
    return tuple(spans)


def _days(span: RuleSpan) -> str:
    if span.first == span.last:
        return span.first.isoformat()
    return f"{span.first.isoformat()} 至 {span.last.isoformat()}"


def rule_sentence(spans: Sequence[RuleSpan]) -> str:
    """``"按 HJ 633—2026"`` when one table covers every day; otherwise each run with its
    days: ``"2026-02-01 至 2026-02-28 按 HJ 633—2012；2026-03-01 按 HJ 633—2026"``."""
    if not spans:
        return ""
    if len({s.table_id for s in spans}) == 1:
        return f"按 {spans[0].code}"
    return "；".join(f"{_days(s)} 按 {s.code}" for s in spans)


def codes(spans: Iterable[RuleSpan]) -> list[str]:
    """The distinct table codes of ``spans``, in order."""
    return list(dict.fromkeys(s.code for s in spans))


def document_code(code: str) -> str:
    """The standard document of a table code: ``"HJ 663—2026"`` of ``"HJ 663—2026
    综合指数"``; the code itself when it does not start with one."""
    found = _DOCUMENT.match(code)
    return found.group(0) if found else code


def unverified_mark(table: Standard) -> dict[str, Any] | None:
    """The "未核实" mark of ``table`` for a page, report, export or push, or ``None`` when
    it has no unverified value: the table's id, kind and code, how many values are marked,
    their pointers and notes, the one-line ``reason`` and a ``message`` sentence."""
    marked = table.unverified()
    if not marked:
        return None
    reason = (
        f"{document_code(table.code)} 原文未获取，{_SECOND_HAND[table.kind]}"
        if table.kind == "aqci"
        else f"{len(marked)} 项数值{_SECOND_HAND[table.kind]}"
    )
    return {
        "kind": table.kind,
        "id": table.id,
        "code": table.code,
        "mark": UNVERIFIED,
        "count": len(marked),
        "items": [{"pointer": u.pointer, "note": u.note} for u in marked],
        "reason": reason,
        "message": f"{table.code}（{_KIND_ZH[table.kind]}）{UNVERIFIED}：{reason}，"
        "标 * 的数值仅供参考。",
    }
