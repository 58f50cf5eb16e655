"""The SMS request signatures against the providers' published examples (the worked
examples of Aliyun's "V3版本请求体&签名机制" and Tencent Cloud's "签名方法 v3")."""

from __future__ import annotations

import pytest

from alerts.notifiers.sms_sign import (
    acs3_authorization,
    acs3_canonical_request,
    canonical_query,
    percent_encode,
    sha256_hex,
    tc3_authorization,
    tc3_canonical_request,
    tc3_signature,
)

EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

# Aliyun: the document's "fixed parameter values" example (ECS RunInstances).
ALIYUN_HEADERS = {
    "host": "ecs.cn-shanghai.aliyuncs.com",
    "x-acs-action": "RunInstances",
    "x-acs-content-sha256": EMPTY_SHA256,
    "x-acs-date": "2023-10-26T10:22:32Z",
    "x-acs-signature-nonce": "3156853299f313e23d1673dc12e1703d",
    "x-acs-version": "2014-05-26",
}
ALIYUN_QUERY = {
    "ImageId": "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd",
    "RegionId": "cn-shanghai",
}

# Tencent: the document's example (CVM DescribeInstances at 1551113065).
TENCENT_BODY = (
    b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
)
TENCENT_HEADERS = {
    "Content-Type": "application/json; charset=utf-8",
    "Host": "cvm.tencentcloudapi.com",
}


def test_aliyun_v3_published_example() -> None:
    canonical, signed = acs3_canonical_request("POST", ALIYUN_QUERY, ALIYUN_HEADERS)
    assert canonical.splitlines()[:3] == [
        "POST",
        "/",
        "ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai",
    ]
    assert signed == (
        "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version"
    )
    assert sha256_hex(canonical.encode()) == (
        "7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259"
    )
    auth = acs3_authorization(
        "YourAccessKeyId", "YourAccessKeySecret", "POST", ALIYUN_QUERY, ALIYUN_HEADERS
    )
    assert auth == (
        "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;"
        "x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,"
        "Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
    )


@pytest.mark.parametrize(
    ("secret_key", "signature"),
    [
        # the English/Russian pages' key, and the Chinese page's masked key
        ("Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"),
        ("Gu5t9xGARNpq86cd98joQYCN3*******", "2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c"),
    ],
)  # fmt: skip
def test_tencent_tc3_published_example(secret_key: str, signature: str) -> None:
    canonical = tc3_canonical_request(TENCENT_HEADERS, ("content-type", "host"), TENCENT_BODY)
    assert canonical == (
        "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n"
        "\ncontent-type;host\n35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
    )
    assert sha256_hex(canonical.encode()) == (
        "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
    )
    assert tc3_signature(secret_key, "cvm", 1551113065, canonical) == (
        signature,
        "2019-02-25/cvm/tc3_request",
    )
    auth = tc3_authorization(
        "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
        secret_key,
        "cvm",
        1551113065,
        TENCENT_HEADERS,
        TENCENT_BODY,
        ("content-type", "host"),
    )
    assert auth == (
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/"
        f"tc3_request, SignedHeaders=content-type;host, Signature={signature}"
    )


@pytest.mark.parametrize(
    ("text", "encoded"),
    [
        ("abc-_.~", "abc-_.~"),
        ("a b", "a%20b"),
        ("a*b", "a%2Ab"),
        ("a+b/c", "a%2Bb%2Fc"),
        ('{"x":"环境"}', "%7B%22x%22%3A%22%E7%8E%AF%E5%A2%83%22%7D"),
    ],
)
def test_percent_encoding_is_rfc3986(text: str, encoded: str) -> None:
    assert percent_encode(text) == encoded


def test_canonical_query_sorts_by_name() -> None:
    assert canonical_query({"b": "2", "A": "x y", "a": "1"}) == "A=x%20y&a=1&b=2"
