"""SMS through the two providers Chinese bureaus use most, signed by hand (.sms_sign).

* ``aliyun_sms`` — 阿里云短信服务, ``SendSms`` of dysmsapi 2017-05-25 (RPC style, parameters
  in the query string, V3 signature), endpoint ``alerts.sms_aliyun_endpoint``; success is
  ``{"Code": "OK"}``, anything else names the error code (``isv.BUSINESS_LIMIT_CONTROL``,
  ``SignatureDoesNotMatch`` …).
* ``tencent_sms`` — 腾讯云短信, ``SendSms`` 2021-01-11 (JSON body, TC3-HMAC-SHA256),
  endpoint ``alerts.sms_tencent_endpoint``; an ``Error`` in the response, or a number whose
  ``SendStatusSet`` code is not ``Ok``, is the failure.

The vendors' SDKs are not used: Aliyun's pulls the Tea runtime and its own HTTP stack,
Tencent's is synchronous (requests); signing is two short documented algorithms, and the
request goes through the notifiers' one aiohttp session (timeouts, the address policy).

Receiver: ``address`` = mobile numbers, comma-separated (``13800138000`` or
``+8613800138000``); ``settings``: ``sign_name``, ``templates`` ({kind: code}), ``params``
({kind: "a,b"}) and ``max_per_hour`` override the ``alerts.sms_*`` settings.  The message's
``sms`` form gives the template kind and the variables' values (alerts.sms_settings).

The credentials are settings (alerts.sms_aliyun_access_key_secret,
alerts.sms_tencent_secret_key), read here only: never in a receiver row, a log line or an
error (errors carry the provider's code and message, and numbers masked as 138****8000).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

import aiohttp
import orjson
from yarl import URL

from alerts.config import Receiver
from alerts.sms_settings import SMS_PARAMS, param_names
from alerts.templates import Message

from .base import NotifyError
from .sms_sign import acs3_authorization, canonical_query, sha256_hex, tc3_authorization
from .targets import check_url

if TYPE_CHECKING:
    from .channels import Channels

__all__ = [
    "SMS_KINDS",
    "AliyunSmsNotifier",
    "TencentSmsNotifier",
    "mask_number",
    "phone_numbers",
    "sms_values",
]

#: receiver kinds that send SMS
SMS_KINDS: Final = ("aliyun_sms", "tencent_sms")
_NUMBER: Final = re.compile(r"^(?:\+?86)?(1[3-9]\d{9})$|^\+(\d{6,15})$")
_SPLIT: Final = re.compile(r"[,;，；\n]+")
_ALIYUN_RETRY_PREFIXES: Final = ("isp.", "Throttling", "ServiceUnavailable", "InternalError")
_ALIYUN_LATER: Final = frozenset({"isv.BUSINESS_LIMIT_CONTROL", "isv.DAY_LIMIT_CONTROL"})
_TENCENT_RETRY_PREFIXES: Final = ("InternalError", "RequestLimitExceeded")
_TENCENT_LATER: Final = frozenset(
    {"LimitExceeded.PhoneNumberThirtySecondLimit", "LimitExceeded.PhoneNumberOneHourLimit"}
)


def phone_numbers(address: str) -> list[str]:
    """The receiver's numbers (separated by commas, semicolons or lines; spaces and dashes
    inside a number ignored) in E.164 (``+8613800138000``); ValueError names a bad one."""
    out = []
    for item in (re.sub(r"[\s-]", "", a) for a in _SPLIT.split(address)):
        if not item:
            continue
        m = _NUMBER.match(item)
        if m is None:
            raise ValueError(f"not a mobile number: {mask_number(item)}")
        out.append(f"+86{m.group(1)}" if m.group(1) else f"+{m.group(2)}")
    if not out:
        raise ValueError("no mobile number")
    return out


def mask_number(number: str) -> str:
    """``+8613800138000`` → ``138****8000`` (numbers are personal data: logs show this)."""
    digits = number[3:] if number.startswith("+86") else number.lstrip("+")
    return f"{digits[:3]}****{digits[-4:]}" if len(digits) > 7 else "****"


def sms_values(
    receiver: Receiver, message: Message, configured: Mapping[str, str], max_chars: int
) -> tuple[str, list[tuple[str, str]]]:
    """(message kind, [(variable, value)] in template order); values are cut to
    ``max_chars`` characters.  A message without an SMS form (case and patrol notices) is
    a ``notice`` whose summary is its subject."""
    form = message.sms or {}
    kind = str(form.get("kind") or message.payload.get("kind") or "notice")
    if kind not in SMS_PARAMS:  # a case or patrol notice (web.casework), no SMS form
        kind = "notice"
    values = dict(form.get("params") or {})
    values.setdefault("summary", message.subject)
    values.setdefault("title", str(message.payload.get("title") or ""))
    values.setdefault("skipped", "0")
    own = receiver.settings.get("params")
    names = param_names({**configured, **(own if isinstance(own, Mapping) else {})}, kind)
    return kind, [(n, str(values.get(n, ""))[:max_chars]) for n in names]


def _setting(receiver: Receiver, key: str, table: Mapping[str, str], kind: str = "") -> str:
    own = receiver.settings.get(key)
    if kind:
        found = own.get(kind) if isinstance(own, Mapping) else None
        return str(found or table.get(kind, ""))
    return str(own or "")


def _content(
    receiver: Receiver,
    message: Message,
    max_chars: int,
    provider: str,
    params: Mapping[str, str],
    templates: Mapping[str, str],
    sign_name: str,
) -> tuple[list[tuple[str, str]], str, str, list[str]]:
    """(variables, template, sign name, numbers) of one SMS; raises NotifyError."""
    kind, values = sms_values(receiver, message, params, max_chars)
    template = _setting(receiver, "templates", templates, kind)
    setting = f"alerts.sms_{provider}"
    _require(
        template, f"the {provider} SMS template for {kind} messages ({setting}_templates.{kind})"
    )
    sign = _setting(receiver, "sign_name", {}) or sign_name
    _require(sign, f"the {provider} SMS sign name ({setting}_sign_name)")
    try:
        numbers = phone_numbers(receiver.address)
    except ValueError as exc:
        raise NotifyError(f"receiver {receiver.name!r}: {exc}", retry=False) from exc
    return values, template, sign, numbers


async def _call(
    channels: Channels, url: URL, body: bytes, headers: Mapping[str, str], what: str
) -> tuple[int, Any]:
    """POST; (HTTP status, parsed JSON or None).  The provider's JSON is returned whatever
    the status: its error code is the useful part."""
    check_url(str(url), channels.policy)
    try:
        async with channels.session.post(
            url, data=body, headers=dict(headers), allow_redirects=False
        ) as resp:
            text = await resp.text(errors="replace")
            try:
                answer = orjson.loads(text) if text.strip() else None
            except orjson.JSONDecodeError:
                answer = None
            return resp.status, answer
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise NotifyError(f"{what}: {type(exc).__name__}: {exc}") from exc


def _require(value: str, what: str) -> str:
    if not value:
        raise NotifyError(f"{what} is not set", retry=False)
    return value


class AliyunSmsNotifier:
    """阿里云短信 SendSms (dysmsapi 2017-05-25, V3 signature)."""

    def __init__(self, channels: Channels) -> None:
        self.channels = channels
        self.s = channels.settings

    def request(
        self, receiver: Receiver, message: Message, ident: str, now: datetime, nonce: str
    ) -> tuple[URL, dict[str, str]]:
        """The signed request (URL with the query, headers); raises NotifyError."""
        s = self.s
        key_id = _require(s.sms_aliyun_access_key_id, "alerts.sms_aliyun_access_key_id")
        secret = _require(s.sms_aliyun_access_key_secret, "alerts.sms_aliyun_access_key_secret")
        values, template, sign, numbers = _content(
            receiver, message, s.sms_param_max_chars, "aliyun", s.sms_aliyun_params,
            s.sms_aliyun_templates, s.sms_aliyun_sign_name,
        )  # fmt: skip
        query = {
            "PhoneNumbers": ",".join(n.removeprefix("+86") for n in numbers),
            "SignName": sign,
            "TemplateCode": template,
            "TemplateParam": orjson.dumps(dict(values)).decode(),
            "OutId": ident[:64],
        }
        host = urlsplit(s.sms_aliyun_endpoint).netloc
        headers = {
            "host": host,
            "x-acs-action": "SendSms",
            "x-acs-version": "2017-05-25",
            "x-acs-date": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "x-acs-signature-nonce": nonce,
            "x-acs-content-sha256": sha256_hex(b""),
        }
        headers["Authorization"] = acs3_authorization(key_id, secret, "POST", query, headers)
        url = URL(f"{s.sms_aliyun_endpoint.rstrip('/')}/?{canonical_query(query)}", encoded=True)
        return url, headers | {"Accept": "application/json"}

    async def send(self, receiver: Receiver, message: Message, ident: str) -> None:
        url, headers = self.request(receiver, message, ident, datetime.now(UTC), uuid.uuid4().hex)
        what = f"{receiver.name} (阿里云短信)"
        status, answer = await _call(self.channels, url, b"", headers, what)
        code = str(answer.get("Code", "")) if isinstance(answer, Mapping) else ""
        if status == 200 and code == "OK":
            return
        detail = str(answer.get("Message", "")) if isinstance(answer, Mapping) else ""
        retry = (
            status >= 500
            or code in _ALIYUN_LATER
            or (code.startswith(_ALIYUN_RETRY_PREFIXES) and code != "isp.RAM_PERMISSION_DENY")
        )
        raise NotifyError(
            f"{what}: HTTP {status}, {code or '无错误码'}: {detail[:200]}".rstrip(": "),
            retry=retry,
            retry_after=60.0 if code in _ALIYUN_LATER else None,
        )


class TencentSmsNotifier:
    """腾讯云短信 SendSms (sms 2021-01-11, TC3-HMAC-SHA256)."""

    def __init__(self, channels: Channels) -> None:
        self.channels = channels
        self.s = channels.settings

    def request(
        self, receiver: Receiver, message: Message, ident: str, timestamp: int
    ) -> tuple[bytes, dict[str, str], list[str]]:
        """(body, signed headers, numbers); raises NotifyError."""
        s = self.s
        secret_id = _require(s.sms_tencent_secret_id, "alerts.sms_tencent_secret_id")
        secret_key = _require(s.sms_tencent_secret_key, "alerts.sms_tencent_secret_key")
        app = _require(s.sms_tencent_sdk_app_id, "alerts.sms_tencent_sdk_app_id")
        values, template, sign, numbers = _content(
            receiver, message, s.sms_param_max_chars, "tencent", s.sms_tencent_params,
            s.sms_tencent_templates, s.sms_tencent_sign_name,
        )  # fmt: skip
        body = orjson.dumps(
            {
                "PhoneNumberSet": numbers,
                "SmsSdkAppId": app,
                "SignName": sign,
                "TemplateId": template,
                "TemplateParamSet": [v for _, v in values],
                "SessionContext": ident[:64],
            }
        )
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Host": urlsplit(s.sms_tencent_endpoint).netloc,
            "X-TC-Action": "SendSms",
            "X-TC-Version": "2021-01-11",
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Region": s.sms_tencent_region,
        }
        headers["Authorization"] = tc3_authorization(
            secret_id, secret_key, "sms", timestamp, headers, body
        )
        return body, headers, numbers

    async def send(self, receiver: Receiver, message: Message, ident: str) -> None:
        body, headers, numbers = self.request(receiver, message, ident, int(time.time()))
        what = f"{receiver.name} (腾讯云短信)"
        url = URL(self.s.sms_tencent_endpoint.rstrip("/") + "/")
        status, answer = await _call(self.channels, url, body, headers, what)
        response = answer.get("Response") if isinstance(answer, Mapping) else None
        if not isinstance(response, Mapping):
            raise NotifyError(f"{what}: HTTP {status}, unexpected answer", retry=status >= 500)
        error = response.get("Error")
        if isinstance(error, Mapping):
            code = str(error.get("Code", ""))
            raise NotifyError(
                f"{what}: {code}: {str(error.get('Message', ''))[:200]}",
                retry=code.startswith(_TENCENT_RETRY_PREFIXES) or code in _TENCENT_LATER,
                retry_after=60.0 if code in _TENCENT_LATER else None,
            )
        _check_numbers(what, numbers, response.get("SendStatusSet") or [])


def _check_numbers(what: str, numbers: Sequence[str], statuses: Sequence[Any]) -> None:
    """Every number must have ``Code: Ok``; a partial success is not retried (the others
    would get the message twice)."""
    failed = []
    for st in statuses:
        if isinstance(st, Mapping) and st.get("Code") != "Ok":
            number = mask_number(str(st.get("PhoneNumber", "")))
            failed.append((number, str(st.get("Code", "")), str(st.get("Message", ""))[:100]))
    if not failed and len(statuses) >= len(numbers):
        return
    if not failed:
        raise NotifyError(f"{what}: {len(statuses)} of {len(numbers)} numbers answered")
    partial = len(failed) < len(numbers)
    later = all(code in _TENCENT_LATER for _, code, _ in failed)
    text = "; ".join(f"{n} {code}: {msg}" for n, code, msg in failed)
    raise NotifyError(
        f"{what}: {text}" + ("（其余号码已发送）" if partial else ""),
        retry=later and not partial,
        retry_after=60.0 if later else None,
    )
