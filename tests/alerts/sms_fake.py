"""A local stand-in for the two SMS clouds (aiohttp on loopback) that checks every request's
signature the way the providers document it — written here from the documents, apart
from alerts.notifiers.sms_sign — and answers like them.

One address serves both (a request with ``X-TC-Action`` is Tencent's).

Aliyun (``POST /?<SendSms parameters>``): ``Authorization: ACS3-HMAC-SHA256 Credential=…,
SignedHeaders=…,Signature=…`` recomputed from the received query, headers and body;
``x-acs-content-sha256`` must hash the body, ``x-acs-date`` be within 15 minutes, the nonce
unused.  Failure: HTTP 400 ``{"Code": "SignatureDoesNotMatch"}`` (or ``…NonceUsed``,
``InvalidTimeStamp.Expired``).  Success: ``{"Code": "OK", "BizId": …}``.

Tencent (``POST /`` JSON): ``Authorization: TC3-HMAC-SHA256 Credential=<id>/<date>/sms/
tc3_request, SignedHeaders=…, Signature=…``; the timestamp within 5 minutes and the scope
date its UTC date.  Failure: HTTP 200 ``{"Response": {"Error": {"Code":
"AuthFailure.SignatureFailure"}}}``.  Success: one ``SendStatusSet`` entry per number.

``script`` queues canned business answers (error codes) for the next accepted requests.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import orjson
import pytest
from aiohttp import web

from tests.conftest import free_port

ALIYUN_ID, ALIYUN_SECRET = "LTAI5tEnvgridTestKey", "aliyun-secret-不外泄"
TENCENT_ID, TENCENT_SECRET = "AKIDenvgridTestSecretId", "tencent-secret-never-shown"


def _enc(text: str) -> str:
    return quote(text, safe="-_.~")


def _hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class SmsCloud:
    url: str = ""
    #: accepted messages: (provider, numbers, sign name, template, params)
    sent: list[tuple[str, list[str], str, str, Any]] = field(default_factory=list)
    #: refused requests: (provider, error code)
    refused: list[tuple[str, str]] = field(default_factory=list)
    #: canned answers for the next accepted requests: provider → [error code]
    script: dict[str, list[str]] = field(default_factory=dict)
    nonces: set[str] = field(default_factory=set)

    def params(self, provider: str) -> list[Any]:
        return [p for prov, _, _, _, p in self.sent if prov == provider]

    # -- Aliyun ------------------------------------------------------------------------
    def aliyun_check(self, request: web.Request, body: bytes) -> str | None:
        auth = request.headers.get("Authorization", "")
        m = re.fullmatch(
            r"ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]{64})",
            auth,
        )
        if m is None or m.group(1) != ALIYUN_ID:
            return "InvalidAccessKeyId.NotFound" if m else "MissingAuthorization"
        if request.headers.get("x-acs-content-sha256") != _hex(body):
            return "ContentSha256NotMatch"
        when = datetime.strptime(request.headers.get("x-acs-date", ""), "%Y-%m-%dT%H:%M:%SZ")
        if abs(when.replace(tzinfo=UTC).timestamp() - time.time()) > 900:
            return "InvalidTimeStamp.Expired"
        nonce = request.headers.get("x-acs-signature-nonce", "")
        if not nonce or nonce in self.nonces:
            return "SignatureNonceUsed"
        names = m.group(2).split(";")
        required = {"host", "x-acs-action", "x-acs-content-sha256", "x-acs-date"}
        present = {k.lower() for k in request.headers if k.lower().startswith("x-acs-")}
        if not required <= set(names) or not present <= set(names):
            return "IncompleteSignature"
        query = "&".join(f"{_enc(k)}={_enc(v)}" for k, v in sorted(request.query.items()))
        headers = "".join(f"{n}:{request.headers.get(n, '').strip()}\n" for n in names)
        canonical = f"POST\n/\n{query}\n{headers}\n{';'.join(names)}\n{_hex(body)}"
        to_sign = f"ACS3-HMAC-SHA256\n{_hex(canonical.encode())}"
        want = hmac.new(ALIYUN_SECRET.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, m.group(3)):
            return "SignatureDoesNotMatch"
        self.nonces.add(nonce)
        return None

    async def aliyun(self, request: web.Request) -> web.Response:
        body = await request.read()
        error = self.aliyun_check(request, body)
        if error is not None:
            self.refused.append(("aliyun", error))
            return web.json_response(
                {"Code": error, "Message": "Specified signature is not matched."}, status=400
            )
        q = request.query
        if request.headers.get("x-acs-action") != "SendSms" or "TemplateCode" not in q:
            return web.json_response({"Code": "InvalidAction"}, status=400)
        queued = self.script.get("aliyun")
        if queued:
            code = queued.pop(0)
            return web.json_response({"Code": code, "Message": "触发流控", "RequestId": "r"})
        self.sent.append(
            (
                "aliyun",
                q["PhoneNumbers"].split(","),
                q["SignName"],
                q["TemplateCode"],
                orjson.loads(q["TemplateParam"]),
            )
        )
        return web.json_response({"Code": "OK", "Message": "OK", "BizId": "1", "RequestId": "r"})

    # -- Tencent -----------------------------------------------------------------------
    def tencent_check(self, request: web.Request, body: bytes) -> str | None:
        auth = request.headers.get("Authorization", "")
        m = re.fullmatch(
            r"TC3-HMAC-SHA256 Credential=([^/]+)/(\d{4}-\d\d-\d\d)/(\w+)/tc3_request, "
            r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})",
            auth,
        )
        if m is None or m.group(1) != TENCENT_ID:
            return "AuthFailure.SecretIdNotFound" if m else "AuthFailure.InvalidAuthorization"
        stamp = int(request.headers.get("X-TC-Timestamp", "0"))
        if abs(stamp - time.time()) > 300:
            return "AuthFailure.SignatureExpire"
        day = datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d")
        if m.group(2) != day or m.group(3) != "sms":
            return "AuthFailure.InvalidAuthorization"
        names = m.group(4).split(";")
        if not {"content-type", "host"} <= set(names):
            return "AuthFailure.InvalidAuthorization"
        headers = "".join(f"{n}:{request.headers.get(n, '').strip().lower()}\n" for n in names)
        canonical = f"POST\n/\n\n{headers}\n{';'.join(names)}\n{_hex(body)}"
        scope = f"{day}/sms/tc3_request"
        to_sign = f"TC3-HMAC-SHA256\n{stamp}\n{scope}\n{_hex(canonical.encode())}"

        def mac(key: bytes, msg: str) -> bytes:
            return hmac.new(key, msg.encode(), hashlib.sha256).digest()

        key = mac(mac(mac(("TC3" + TENCENT_SECRET).encode(), day), "sms"), "tc3_request")
        want = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, m.group(5)):
            return "AuthFailure.SignatureFailure"
        return None

    async def tencent(self, request: web.Request) -> web.Response:
        body = await request.read()
        error = self.tencent_check(request, body)
        if error is not None:
            self.refused.append(("tencent", error))
            return web.json_response(
                {
                    "Response": {
                        "Error": {"Code": error, "Message": "签名验证失败"},
                        "RequestId": "r",
                    }
                }
            )
        req = orjson.loads(body)
        queued = self.script.get("tencent")
        code = queued.pop(0) if queued else "Ok"
        if code == "Ok":
            self.sent.append(
                (
                    "tencent",
                    req["PhoneNumberSet"],
                    req["SignName"],
                    req["TemplateId"],
                    req["TemplateParamSet"],
                )
            )
        statuses = [
            {"PhoneNumber": n, "Code": code, "Message": "send success" if code == "Ok" else "限频"}
            for n in req["PhoneNumberSet"]
        ]
        return web.json_response({"Response": {"SendStatusSet": statuses, "RequestId": "r"}})


@pytest.fixture
async def sms_cloud() -> AsyncIterator[SmsCloud]:
    cloud = SmsCloud()
    app = web.Application()

    async def dispatch(request: web.Request) -> web.Response:
        tencent = "X-TC-Action" in request.headers
        return await (cloud.tencent(request) if tencent else cloud.aliyun(request))

    app.router.add_post("/", dispatch)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    cloud.url = f"http://127.0.0.1:{port}"
    try:
        yield cloud
    finally:
        await runner.cleanup()


def sms_settings(cloud: SmsCloud) -> dict[str, Any]:
    """The alerts.sms_* settings pointing at ``cloud`` (for alert_settings(**…))."""
    return {
        "sms_aliyun_endpoint": cloud.url,
        "sms_aliyun_access_key_id": ALIYUN_ID,
        "sms_aliyun_access_key_secret": ALIYUN_SECRET,
        "sms_aliyun_sign_name": "环境监测",
        "sms_aliyun_templates": {"alert": "SMS_100", "ranking": "SMS_200", "test": "SMS_300"},
        "sms_tencent_endpoint": cloud.url,
        "sms_tencent_secret_id": TENCENT_ID,
        "sms_tencent_secret_key": TENCENT_SECRET,
        "sms_tencent_sdk_app_id": "1400000001",
        "sms_tencent_sign_name": "环境监测",
        "sms_tencent_templates": {"alert": "1001", "ranking": "1002", "test": "1003"},
    }
