"""Exceptions → HTTP answers: the one mechanism.

Handlers, and whatever they call, raise; none builds an error response itself.  The
error middleware (:func:`web.middleware.error_middleware`) answers every exception:

* :class:`~web.responses.ApiError` carries its answer (status, a stable ``code``, a
  message for people in Chinese, extra body fields, headers);
* a domain exception listed in an :data:`ErrorTable` becomes the ``ApiError`` its
  translator returns.  Each module's routes module may declare ``ERRORS`` beside ``API``
  and ``PAGES``; ``web.routes.setup_routes`` registers it for that module's routes, over
  :data:`CORE_ERRORS` (which hold for every route).  The most specific class wins (the
  exception's MRO is walked), so a module maps its own refusals without catching them
  in every handler, and a mapping never leaks into another module's routes;
* ``web.HTTPException`` (aiohttp's 404/405/413, redirects) keeps its status;
* anything else is a logged 500.

The answer's form: under ``/api/`` the JSON body ``{"error": {"code", "message", …}}``;
for pages the HTML error page, and a 401 sends the browser to ``/login?next=…``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from aggregates.standards import NoStandardInForce
from web.responses import ApiError

__all__ = ["CORE_ERRORS", "ErrorTable", "Translator", "answer", "translate"]

#: Turns one domain exception into its answer.
Translator = Callable[[Any], ApiError]
#: Domain exception classes → their translators (a module's ``ERRORS``).
ErrorTable = Mapping[type[BaseException], Translator]


def answer(status: int, code: str, **extra: Any) -> Translator:
    """A translator answering ``status``/``code`` with the exception's own message."""

    def translator(exc: BaseException) -> ApiError:
        return ApiError(status, code, str(exc), **extra)

    return translator


def _no_standard(exc: NoStandardInForce) -> ApiError:  # a period before the first standard
    return ApiError(400, "bad_parameter", f"所选时段没有适用的评价标准（{exc}）")


#: What every route answers for these (the modules' tables come on top).
CORE_ERRORS: Final[ErrorTable] = {NoStandardInForce: _no_standard}


def translate(exc: BaseException, table: ErrorTable) -> ApiError | None:
    """The answer for ``exc``: itself when an ApiError, else from ``table`` (the most
    specific class listed); None when nothing knows it (a bug: 500)."""
    if isinstance(exc, ApiError):
        return exc
    for cls in type(exc).__mro__:
        translator = table.get(cls)
        if translator is not None:
            return translator(exc)
    return None
