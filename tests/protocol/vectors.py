"""Decoder vectors: (name, bytes, expected).

Taken from ../shared/hj212/samples.json (frames adapted from HJ 212-2017 App. C,
HJ/T 212-2005 App. C and a 2016 field capture; CRCs checked with the standard's
algorithm).  ``expected`` is a subset of ``Frame.to_json()`` (or of a
``FrameError``'s) that must match exactly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1] / "data" / "hj212"  # copied from ../shared/hj212

SAMPLES: list[dict[str, str]] = json.loads((DATA / "samples.json").read_text("utf-8"))
CORPUS_FILE = DATA / "virt2017.txt"

MN_AQ = "AQ0000000000000000000001"
MN_W = "010000A8900016F000169DC0"
MN_05 = "88888880000001"


def _frame(i: int) -> bytes:
    return SAMPLES[i]["frame"].encode("utf-8")


def _n(rtd: str) -> dict[str, str]:
    return {"Rtd": rtd, "Flag": "N"}


EXPECTED: list[tuple[str, dict[str, Any]]] = [
    (
        "2017 air real-time",
        {
            "ok": True,
            "type": "data",
            "edition": "2017",
            "qn": "20240301120000123",
            "st": "22",
            "cn": "2011",
            "pw": "123456",
            "mn": MN_AQ,
            "flag": 5,
            "pnum": None,
            "pno": None,
            "data_time": "20240301120000",
            "values": {
                "a21026": _n("8.0"),
                "a21004": _n("35.2"),
                "a21005": _n("0.62"),
                "a05024": _n("88.0"),
                "a34002": _n("61.0"),
                "a34004": _n("35.0"),
            },
            "fields": {},
        },
    ),
    (
        "2017 9014 ack",
        {
            "ok": True,
            "type": "reply",
            "edition": "2017",
            "qn": "20240301120000123",
            "st": "91",
            "cn": "9014",
            "mn": MN_AQ,
            "flag": 4,
            "values": {},
            "fields": {},
        },
    ),
    (
        "2017 flue gas ZsRtd",
        {
            "ok": True,
            "type": "data",
            "st": "31",
            "cn": "2011",
            "flag": 5,
            "values": {
                "a34013": {"Rtd": "4.1", "ZsRtd": "5.3", "Flag": "N"},
                "a21026": {"Rtd": "12.5", "ZsRtd": "16.2", "Flag": "N"},
                "a19001": _n("9.8"),
                "a00000": _n("28.5"),
            },
        },
    ),
    (
        "2017 minute data",
        {
            "ok": True,
            "type": "data",
            "cn": "2051",
            "data_time": "20160801084000",
            "values": {
                "w00000": {"Cou": "10.5", "Min": "16.4", "Avg": "17.5", "Max": "20.1", "Flag": "N"},
                "w01018": {"Cou": "10.5", "Min": "40.1", "Avg": "40.1", "Max": "40.1", "Flag": "N"},
            },
        },
    ),
    (
        "2017 split hourly part 1",
        {
            "ok": True,
            "cn": "2061",
            "flag": 7,
            "pnum": 2,
            "pno": 1,
            "qn": "20160801085857534",
            "values": {
                "w00000": {"Cou": "63.0", "Min": "16.4", "Avg": "17.5", "Max": "20.1", "Flag": "N"}
            },
        },
    ),
    (
        "2017 split hourly part 2",
        {
            "ok": True,
            "cn": "2061",
            "flag": 7,
            "pnum": 2,
            "pno": 2,
            "qn": "20160801085857535",
            "values": {
                "w01018": {"Cou": "63.0", "Min": "40.1", "Avg": "40.1", "Max": "40.1", "Flag": "N"}
            },
        },
    ),
    (
        "2017 daily",
        {
            "ok": True,
            "type": "data",
            "cn": "2031",
            "data_time": "20160801000000",
            "values": {
                "w01018": {
                    "Cou": "2142.0",
                    "Min": "40.1",
                    "Avg": "40.1",
                    "Max": "40.1",
                    "Flag": "N",
                }
            },
        },
    ),
    (
        "2017 equipment status",
        {
            "ok": True,
            "type": "status",
            "cn": "2021",
            "values": {"SB1": {"RS": "1"}, "SB2": {"RS": "0"}},
            "fields": {},
        },
    ),
    (
        "2017 power-on time",
        {
            "ok": True,
            "type": "info",
            "cn": "2081",
            "fields": {"RestartTime": "20160801085624"},
        },
    ),
    (
        "2017 noise",
        {
            "ok": True,
            "type": "data",
            "st": "23",
            "values": {"LA": {"Rtd": "50.1"}},
        },
    ),
    ("2017 9011", {"ok": True, "type": "reply", "cn": "9011", "fields": {"QnRtn": "1"}}),
    ("2017 9012", {"ok": True, "type": "reply", "cn": "9012", "fields": {"ExeRtn": "1"}}),
    ("2017 9013", {"ok": True, "type": "reply", "cn": "9013", "fields": {}}),
    (
        "2017 log upload UTF-8",
        {
            "ok": True,
            "type": "info",
            "cn": "3020",
            "fields": {"PolId": "w01018"},
            "values": {"i11001": {"Info": "//清洗管路//"}},
        },
    ),
    (
        "2005 upload legacy codes",
        {
            "ok": True,
            "type": "data",
            "edition": "2005",
            "qn": None,
            "flag": None,
            "mn": MN_05,
            "data_time": "20040516020111",
            "values": {"w00000": {"Rtd": "100"}, "w01018": _n("1.1"), "w21003": _n("2.2")},
            "legacy_codes": {"w00000": "B01", "w01018": "011", "w21003": "060"},
        },
    ),
    (
        "2005 9011 QN in CP",
        {
            "ok": True,
            "type": "reply",
            "edition": "2005",
            "cn": "9011",
            "flag": 0,
            "qn": "20040516010101001",
            "fields": {"QN": "20040516010101001", "QnRtn": "1"},
        },
    ),
    (
        "2005 9014 no PW/MN",
        {
            "ok": True,
            "type": "reply",
            "edition": "2005",
            "cn": "9014",
            "pw": None,
            "mn": None,
            "fields": {"QN": "20040516010101001", "CN": "2051"},
        },
    ),
    (
        "2005 alarm event",
        {
            "ok": True,
            "type": "notification",
            "edition": "2005",
            "cn": "2072",
            "fields": {"AlarmTime": "20040506010101", "AlarmType": "1"},
            "values": {"w01018": {"Ala": "1.1"}},
        },
    ),
    (
        "App. A example 1062",
        {
            "ok": True,
            "type": "command",
            "edition": "2017",
            "cn": "1062",
            "pw": "100000",
            "fields": {"RtdInterval": "30"},
        },
    ),
    (
        "field capture 17-digit DataTime",
        {
            "ok": True,
            "type": "data",
            "edition": "2005",
            "mn": "LD130133000015",
            "data_time": "20160824003817000",
            "values": {"w00000": {"Rtd": "36.91"}, "w01018": _n("231.0"), "w21003": _n("1.803")},
        },
    ),
    (
        "vendor heartbeat 8013",
        {
            "ok": True,
            "type": "heartbeat",
            "cn": "8013",
            "flag": 0,
            "fields": {"HeartbeatTime": "120"},
        },
    ),
]

assert len(EXPECTED) == len(SAMPLES), "one expectation per sample frame"

VECTORS: list[tuple[str, bytes, dict[str, Any]]] = [
    (name, _frame(i), expected) for i, (name, expected) in enumerate(EXPECTED)
]


def corpus_lines() -> list[bytes]:
    return [line.encode("utf-8") for line in CORPUS_FILE.read_text("utf-8").splitlines() if line]
