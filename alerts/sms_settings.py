"""The SMS settings (``alerts.sms_*``) checked, and what an SMS template may use.

A message of the alert engine is sent by SMS as a *template* registered with the provider
(模板, approved in its console) and the values of the template's variables.  Each message
kind has its variables (:data:`SMS_PARAMS`); the settings name, per kind, the template
(``sms_aliyun_templates`` / ``sms_tencent_templates``) and which variables it has, in order
(``sms_aliyun_params`` / ``sms_tencent_params``; default :data:`DEFAULT_PARAMS`).  Tencent
templates number their variables ``{1}``, ``{2}`` …, Aliyun templates name them
``${summary}`` …; both get the values in the order given.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from store.validation import require

if TYPE_CHECKING:
    from .settings import AlertSettings

__all__ = ["DEFAULT_PARAMS", "SMS_KINDS", "SMS_PARAMS", "check_sms_settings", "param_names"]

#: Every kind may use ``skipped``: how many SMS to the receiver were dropped by its cap
#: since its last SMS ("0" when none).
_COMMON: Final = ("skipped",)
#: Message kind → the variables its SMS carries.
SMS_PARAMS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "alert": ("summary", "count", "title", *_COMMON),
        "reminder": ("summary", "count", "title", *_COMMON),
        "ranking": (
            "summary", "date", "rank", "aqci", "exceed", "overdue", "offline", *_COMMON
        ),
        "test": ("summary", "time", *_COMMON),
        # anything else sent through a receiver: case and patrol notices (web.casework)
        "notice": ("summary", "title", *_COMMON),
    }
)  # fmt: skip
SMS_KINDS: Final = tuple(SMS_PARAMS)
#: Variables of a template when the settings do not list them.
DEFAULT_PARAMS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "alert": ("summary",),
        "reminder": ("summary",),
        "ranking": ("date", "rank", "exceed", "overdue", "offline"),
        "test": ("summary",),
        "notice": ("summary",),
    }
)


def param_names(configured: Mapping[str, str], kind: str) -> tuple[str, ...]:
    """The variables of ``kind``'s template: the configured list, else the default."""
    text = configured.get(kind, "")
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    return names or DEFAULT_PARAMS.get(kind, ("summary",))


def _check_provider(
    name: str,
    endpoint: str,
    ident: str,
    secret: str,
    templates: Mapping[str, str],
    params: Mapping[str, str],
) -> None:
    url = urlsplit(endpoint)
    require(
        url.scheme in ("http", "https") and bool(url.netloc) and url.path in ("", "/"),
        f"alerts.sms_{name}_endpoint must be an http(s) address without a path (got {endpoint!r})",
    )
    require(
        bool(ident) == bool(secret),
        f"alerts.sms_{name}: set the key id and its secret together (one of them is empty)",
    )
    for setting, table in (("templates", templates), ("params", params)):
        for kind in table:
            require(
                kind in SMS_PARAMS,
                f"alerts.sms_{name}_{setting}: unknown message kind {kind!r}"
                f" (kinds: {', '.join(SMS_KINDS)})",
            )
    for kind in params:
        unknown = [n for n in param_names(params, kind) if n not in SMS_PARAMS[kind]]
        require(
            not unknown,
            f"alerts.sms_{name}_params.{kind}: unknown variables {', '.join(unknown)}"
            f" (a {kind} SMS has: {', '.join(SMS_PARAMS[kind])})",
        )


def check_sms_settings(s: AlertSettings) -> None:
    """Raise :class:`store.validation` 's error with a one-line reason for a bad setting."""
    _check_provider(
        "aliyun",
        s.sms_aliyun_endpoint,
        s.sms_aliyun_access_key_id,
        s.sms_aliyun_access_key_secret,
        s.sms_aliyun_templates,
        s.sms_aliyun_params,
    )
    _check_provider(
        "tencent",
        s.sms_tencent_endpoint,
        s.sms_tencent_secret_id,
        s.sms_tencent_secret_key,
        s.sms_tencent_templates,
        s.sms_tencent_params,
    )
    for kind, template in s.sms_tencent_templates.items():
        require(
            template.isascii() and template.isdigit(),
            f"alerts.sms_tencent_templates.{kind}: a Tencent template id is a number"
            f" (got {template!r})",
        )
    require(
        not s.sms_tencent_sdk_app_id
        or (s.sms_tencent_sdk_app_id.isascii() and s.sms_tencent_sdk_app_id.isdigit()),
        f"alerts.sms_tencent_sdk_app_id must be the numeric SmsSdkAppId"
        f" (got {s.sms_tencent_sdk_app_id!r})",
    )
