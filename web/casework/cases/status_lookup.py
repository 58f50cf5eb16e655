"""The public complaint status lookup (投诉进度查询): receipt number + phone check.

Theory of operation
-------------------
The receipt number (受理编号, ``AJyyyymmddNNNNNN``) is sequential, so it is no secret:
anyone can guess valid numbers.  The phone number given at submission is the second
factor: the complainant enters the full number or its last 4 digits.  So that the lookup
cannot be used to enumerate complaints or to test phone numbers:

* every lookup is counted against a per-client window *before* anything else
  (``cases.complaint_lookup_limit`` per ``cases.complaint_rate_window_s``, the same
  fixed-window table as the complaint form);
* the phone is compared with :func:`hmac.compare_digest` (constant time), and a comparison
  runs even when the number is unknown or the complaint has no phone (against a dummy);
* an unknown receipt, a receipt of a non-complaint case, a complaint without a phone and a
  wrong phone all give the *same* answer (:data:`NOT_FOUND`);
* the answer holds only the public phase, its dates and the public replies (comments of
  the steps addressed to the complainant: 不予受理/核实不属实/回访/结案) — never the grid,
  unit, people, description, location or the phone.
"""

from __future__ import annotations

import hmac
import re
from datetime import datetime
from typing import Any, Final

import asyncpg

from web.casework.cases import history_queries as hq
from web.casework.cases.complaints import RateLimiter
from web.casework.cases.lifecycle import Action, State
from web.casework.kernel.config import CaseConfig
from web.casework.kernel.errors import WorkflowError

__all__ = ["NOT_FOUND", "PUBLIC_REPLY_ACTIONS", "lookup_complaint", "phone_matches", "public_phase"]

#: The one answer for every failed lookup.
NOT_FOUND: Final = "未找到与该受理编号和联系电话相符的投诉，请核对后再试"
PUBLIC_REPLY_ACTIONS: Final = (
    Action.REJECT.value,
    Action.VERIFY_FALSE.value,
    Action.VISIT_DONE.value,
    Action.CLOSE.value,
)
_CODE_RE: Final = re.compile(r"^AJ\d{8,20}$")
_DUMMY: Final = "00000000000"

_PHASES: Final = {
    State.REPORTED: "已收到，等待受理",
    State.VERIFYING: "已收到，正在核实",
    State.ACCEPTED: "已受理，正在安排处理",
    State.FILED: "已受理，正在安排处理",
    State.DISPATCHED: "已受理，正在安排处理",
    State.RETURNED: "已受理，正在安排处理",
    State.HANDLING: "处理中",
    State.EXTENSION_REQUESTED: "处理中",
    State.HANG_REQUESTED: "处理中",
    State.HUNG: "处理中（需较长时间处理）",
    State.FEEDBACK: "已处理，正在核查",
    State.CHECKING: "已处理，正在核查",
    State.RETURN_VISIT: "已处理，正在回访",
    State.CLOSING: "已处理，正在办结",
    State.CLOSED: "已办结",
    State.ARCHIVED: "已办结",
    State.REJECTED: "不予受理",
    State.CANCELLED: "已撤销",
}


def public_phase(state: str) -> str:
    """The phase of a case in words for the complainant."""
    return _PHASES[State(state)]


def _digits(text: str) -> str:
    return re.sub(r"[\s-]", "", text)


def phone_matches(given: str, stored: str) -> bool:
    """Whether ``given`` (full number or its last 4 digits) matches ``stored``, in time
    independent of where they differ; False when nothing is stored."""
    want = _digits(given)
    have = _digits(stored)
    if len(want) == 4:
        have_part = have[-4:] if len(have) >= 4 else _DUMMY[:4]
    else:
        have_part = have or _DUMMY
    same = hmac.compare_digest(want.encode(), have_part.encode())
    return same and bool(have)


def check_input(code: str, phone: str) -> tuple[str, str]:
    """Normalised (receipt, phone) or a Chinese refusal (input errors only: shape, not
    whether they exist)."""
    code = code.strip().upper()
    phone = _digits(phone)
    if not _CODE_RE.match(code):
        raise WorkflowError("请输入提交投诉时获得的受理编号（AJ 开头）", "input")
    if not phone.isdigit() or not (len(phone) == 4 or 7 <= len(phone) <= 13):
        raise WorkflowError("请输入提交投诉时留的联系电话（完整号码或后 4 位）", "input")
    return code, phone


async def lookup_complaint(
    pool: asyncpg.Pool,
    code: str,
    phone: str,
    *,
    client: str,
    config: CaseConfig,
    now: datetime,
    limiter: RateLimiter,
) -> dict[str, Any]:
    """The public status of a complaint; :class:`WorkflowError` ``rate_limited`` (429),
    ``input`` (400) or ``not_found`` (404, the same for every failed match)."""
    if not await limiter.hit(f"complaint-status:{client}", now):
        minutes = max(1, config.cases.complaint_rate_window_s // 60)
        raise WorkflowError(f"查询过于频繁，请 {minutes} 分钟后再试", "rate_limited")
    code, phone = check_input(code, phone)
    async with pool.acquire() as conn:
        row = await hq.complaint_status(conn, code)
        stored = str(row["reporter_phone"]) if row is not None else ""
        if not phone_matches(phone, stored) or row is None:
            raise WorkflowError(NOT_FOUND, "not_found")
        replies = await hq.public_replies(conn, row["id"], list(PUBLIC_REPLY_ACTIONS))
    steps = [
        ("提交投诉", row["reported_at"]),
        ("受理", row["accepted_at"]),
        ("派遣处理", row["dispatched_at"]),
        ("处理完毕", row["feedback_at"]),
        ("办结", row["closed_at"]),
        ("结束", row["ended_at"]),
    ]
    return {
        "code": row["code"],
        "status": public_phase(row["state"]),
        "finished": State(row["state"]) not in _OPEN,
        "steps": [{"label": label, "at": at} for label, at in steps if at is not None],
        "replies": [
            {"at": r["at"], "step": Action(r["action"]).label, "text": r["comment"]}
            for r in replies
        ],
    }


_OPEN: Final = frozenset(State) - {
    State.CLOSED, State.ARCHIVED, State.REJECTED, State.CANCELLED
}  # fmt: skip
