"""Frames the :class:`~ingest.dispatch.Dispatcher` refuses and input that is no frame:
counted by reason, logged (the first few per connection, then every thousandth) with the
station's ``mn`` and ``peer`` as fields, and a connection that sends nothing but errors
closed."""

from __future__ import annotations

import logging
from collections import Counter
from typing import TYPE_CHECKING

from protocol import ErrorCode, Frame, FrameError
from store.logcontext import station_fields

from .connection import StationConnection
from .registry import StationRegistry

__all__ = ["LOG_FIRST_ERRORS", "MAX_ERROR_STREAK", "Rejections"]

log = logging.getLogger("ingest.dispatch")

#: errors logged per connection before only every thousandth is
LOG_FIRST_ERRORS = 5
#: protocol errors in a row that close a connection
MAX_ERROR_STREAK = 200


class Rejections:
    """Mixin of :class:`~ingest.dispatch.Dispatcher` (which provides what is declared)."""

    registry: StationRegistry
    rejected: Counter[str]
    decoder_errors: Counter[str]

    if TYPE_CHECKING:  # provided by Newcomers

        def _unknown_encrypted(
            self, conn: StationConnection, error: FrameError, mn: str
        ) -> None: ...

    def _reject(self, conn: StationConnection, frame: Frame, reason: str, detail: str) -> None:
        self.rejected[reason] += 1
        conn.errors_logged += 1
        if conn.errors_logged <= LOG_FIRST_ERRORS or conn.errors_logged % 1000 == 0:
            log.warning(
                "rejected frame from %s (%s): %s [CN %s QN %s]",
                conn.peer,
                reason,
                detail,
                frame.cn,
                frame.qn,
                extra=station_fields(frame.mn or conn.mns, conn.peer),
            )

    def _bad_input(self, conn: StationConnection, error: FrameError) -> None:
        self.decoder_errors[error.code.value] += 1
        if error.code is ErrorCode.SM4_NO_KEY and error.mn and self.registry.get(error.mn) is None:
            self._unknown_encrypted(conn, error, error.mn)
        conn.error_streak += 1
        conn.errors_logged += 1
        if conn.errors_logged <= LOG_FIRST_ERRORS or conn.errors_logged % 1000 == 0:
            log.warning(
                "bad input from %s (MN %s): %s — %s at offset %d",
                conn.peer,
                error.mn or ",".join(conn.mns) or "-",
                error.code.value,
                error.detail,
                error.offset,
                extra=station_fields(error.mn or conn.mns, conn.peer),
            )
        if conn.error_streak >= MAX_ERROR_STREAK:
            log.warning(
                "closing %s: %d protocol errors in a row",
                conn.peer,
                conn.error_streak,
                extra=station_fields(conn.mns, conn.peer),
            )
            self.rejected["error_streak_closed"] += 1
            conn.close()
