"""Request signatures of the two SMS APIs, as their documentation defines them (pure
functions: no clock, no randomness, no I/O — the caller passes time and nonce).

阿里云 V3 (ACS3-HMAC-SHA256; "V3版本请求体&签名机制", help.aliyun.com, the signature Aliyun
documents for its RPC and ROA APIs and asks V2 users to move to)::

    CanonicalRequest = METHOD \\n "/" \\n CanonicalQueryString \\n CanonicalHeaders \\n
                       SignedHeaders \\n hex(sha256(body))
    StringToSign     = "ACS3-HMAC-SHA256" \\n hex(sha256(CanonicalRequest))
    Signature        = hex(HMAC-SHA256(AccessKeySecret, StringToSign))
    Authorization: ACS3-HMAC-SHA256 Credential=<AccessKeyId>,SignedHeaders=<…>,Signature=<…>

The query string and the header values are percent-encoded by RFC 3986 (space %20, ``*``
%2A, ``~`` kept); the signed headers are ``host``, ``content-type`` and every ``x-acs-*``.

腾讯云 TC3-HMAC-SHA256 (API 3.0 "签名方法 v3")::

    CanonicalRequest = "POST" \\n "/" \\n "" \\n "content-type:…\\nhost:…\\nx-tc-action:…\\n" \\n
                       "content-type;host;x-tc-action" \\n hex(sha256(body))
    StringToSign     = "TC3-HMAC-SHA256" \\n <timestamp> \\n <UTC date>/<service>/tc3_request \\n
                       hex(sha256(CanonicalRequest))
    key              = HMAC(HMAC(HMAC("TC3" + SecretKey, date), service), "tc3_request")
    Authorization: TC3-HMAC-SHA256 Credential=<SecretId>/<scope>, SignedHeaders=…, Signature=…

Both are checked against the documents' published examples (tests/alerts/test_sms_sign.py).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final
from urllib.parse import quote

__all__ = [
    "ACS3",
    "TC3",
    "acs3_authorization",
    "acs3_canonical_request",
    "canonical_query",
    "percent_encode",
    "sha256_hex",
    "tc3_authorization",
    "tc3_canonical_request",
    "tc3_signature",
]

ACS3: Final = "ACS3-HMAC-SHA256"
TC3: Final = "TC3-HMAC-SHA256"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def percent_encode(text: str) -> str:
    """RFC 3986 encoding of UTF-8 text: unreserved characters kept, the rest ``%XY``."""
    return quote(text, safe="-_.~")


def canonical_query(params: Mapping[str, str]) -> str:
    """``a=1&b=x%20y``: sorted by name, names and values percent-encoded."""
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))


def _acs3_headers(headers: Mapping[str, str]) -> tuple[str, str]:
    signed = {
        k.lower(): v.strip()
        for k, v in headers.items()
        if k.lower() in ("host", "content-type") or k.lower().startswith("x-acs-")
    }
    names = sorted(signed)
    return "".join(f"{n}:{signed[n]}\n" for n in names), ";".join(names)


def acs3_canonical_request(
    method: str, query: Mapping[str, str], headers: Mapping[str, str], body: bytes = b""
) -> tuple[str, str]:
    """(CanonicalRequest, SignedHeaders) of an RPC-style request (path ``/``); ``headers``
    must hold ``x-acs-content-sha256`` = hex(sha256(body))."""
    canonical_headers, signed = _acs3_headers(headers)
    text = "\n".join(
        (method.upper(), "/", canonical_query(query), canonical_headers, signed, sha256_hex(body))
    )
    return text, signed


def acs3_authorization(
    access_key_id: str,
    access_key_secret: str,
    method: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    body: bytes = b"",
) -> str:
    """The ``Authorization`` header value of a V3-signed request."""
    canonical, signed = acs3_canonical_request(method, query, headers, body)
    to_sign = f"{ACS3}\n{sha256_hex(canonical.encode())}"
    signature = hmac.new(access_key_secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    return f"{ACS3} Credential={access_key_id},SignedHeaders={signed},Signature={signature}"


def tc3_canonical_request(headers: Mapping[str, str], signed: tuple[str, ...], body: bytes) -> str:
    """The CanonicalRequest of a TC3 POST: ``signed`` names the (lower-case) headers that
    take part, in ASCII order; their values are lower-cased and trimmed."""
    lower = {k.lower(): v for k, v in headers.items()}
    canonical = "".join(f"{n}:{lower[n].strip().lower()}\n" for n in signed)
    return "\n".join(("POST", "/", "", canonical, ";".join(signed), sha256_hex(body)))


def tc3_signature(
    secret_key: str, service: str, timestamp: int, canonical_request: str
) -> tuple[str, str]:
    """(signature, credential scope) of a canonical request at ``timestamp`` (Unix s; the
    scope's date is its UTC date)."""
    day = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    scope = f"{day}/{service}/tc3_request"
    to_sign = f"{TC3}\n{timestamp}\n{scope}\n{sha256_hex(canonical_request.encode())}"

    def mac(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    key = mac(mac(mac(f"TC3{secret_key}".encode(), day), service), "tc3_request")
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest(), scope


def tc3_authorization(
    secret_id: str,
    secret_key: str,
    service: str,
    timestamp: int,
    headers: Mapping[str, str],
    body: bytes,
    signed: tuple[str, ...] = ("content-type", "host", "x-tc-action"),
) -> str:
    """The ``Authorization`` header value of a TC3-signed POST."""
    canonical = tc3_canonical_request(headers, signed, body)
    signature, scope = tc3_signature(secret_key, service, timestamp, canonical)
    return (
        f"{TC3} Credential={secret_id}/{scope}, SignedHeaders={';'.join(signed)},"
        f" Signature={signature}"
    )
