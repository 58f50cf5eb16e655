"""protocol._fastpath.quick (C) against the Python form of Decoder._fast: the same
events for every frame, whichever of the two reads it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import protocol.decoder
from protocol import Decoder, crc16

from .vectors import SAMPLES, corpus_lines

pytestmark = pytest.mark.skipif(
    protocol.decoder._QUICK is None,
    reason="protocol._fastpath is not in use (ENVGRID_NO_EXTENSIONS, or not built: make setup)",
)


def both(stream: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[list[object], list[object]]:
    fast = Decoder(max_length=9999).feed(stream)
    with monkeypatch.context() as m:
        m.setattr(protocol.decoder, "_QUICK", None)
        m.setattr(protocol.decoder, "_FEED_CLEAN", None)
        slow = Decoder(max_length=9999).feed(stream)
    return fast, slow


def python_feed(chunks: list[bytes], **options: object) -> list[object]:
    """The events of the chunks, fed one by one to a decoder without the C forms."""
    saved = protocol.decoder._QUICK, protocol.decoder._FEED_CLEAN
    protocol.decoder._QUICK = protocol.decoder._FEED_CLEAN = None
    try:
        decoder = Decoder(**options)  # type: ignore[arg-type]
        events = [e for chunk in chunks for e in decoder.feed(chunk)] + decoder.close()
        return [*events, decoder.stats, decoder.buffered]
    finally:
        protocol.decoder._QUICK, protocol.decoder._FEED_CLEAN = saved


def c_feed(chunks: list[bytes], **options: object) -> list[object]:
    decoder = Decoder(**options)  # type: ignore[arg-type]
    events = [e for chunk in chunks for e in decoder.feed(chunk)] + decoder.close()
    return [*events, decoder.stats, decoder.buffered]


def wrap(segment: bytes, crc: str = "%04X") -> bytes:
    return b"##%04d" % len(segment) + segment + (crc % crc16(segment)).encode() + b"\r\n"


def test_samples_and_corpus(monkeypatch: pytest.MonkeyPatch) -> None:
    frames = [s["frame"].encode() for s in SAMPLES] + [line + b"\r\n" for line in corpus_lines()]
    for frame in frames:
        fast, slow = both(frame, monkeypatch)
        assert fast == slow, frame


HEAD = (
    "QN=20261207143000123;ST=22;CN=2011;PW=123456;MN=010000A8900016F000169DC0;Flag=5;"
    "CP=&&DataTime=20261207143000;a21026-Rtd=8.0,a21026-Flag=N&&"
)


@pytest.mark.parametrize(
    "segment",
    [
        HEAD,
        HEAD.replace("Flag=5;", "Flag=5;PNUM=2;PNO=1;"),
        HEAD.replace("Flag=5;", "Flag=13;PNUM=12345;PNO=1;"),
        HEAD.replace("Flag=5;", "Flag=1234;"),
        HEAD.replace("QN=20261207143000123", "QN=2026120714300012"),
        HEAD.replace("ST=22", "ST=2"),
        HEAD.replace("PW=123456", "PW=12 3456"),
        HEAD.replace("PW=123456", "PW="),
        HEAD.replace("PW=123456", "PW=a&b\r"),
        HEAD.replace("MN=", "MN=x,"),
        HEAD.replace("&&DataTime", "&DataTime"),
        HEAD.replace("N&&", "N&"),
        HEAD + "&&",
        HEAD.replace("ST=22;CN=2011", "CN=2011;ST=22"),
        HEAD.replace("a21026-Flag=N", "a21026-Flag=Ñ"),
        HEAD.replace("Flag=5;", "Flag=5;PNUM=2;"),
        "QN=;CP=&&&&",
        "",
    ],
)
@pytest.mark.parametrize("crc", ["%04X", "%04x", "%04d"])
def test_heads_the_fast_path_takes_or_leaves(
    segment: str, crc: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast, slow = both(wrap(segment.encode(), crc), monkeypatch)
    assert fast == slow


_PIECE = st.sampled_from(
    [
        "QN=", "20261207143000123", ";", "ST=", "22", "CN=", "2011", "9014", "PW=", "123456",
        "MN=", "ABC", "Flag=", "5", "4", "9", "12", "PNUM=", "PNO=", "1", "CP=&&", "&&", "&",
        ",", "=", " ", "DataTime=20261207143000", "a21026-Rtd=8", "é", "0", "Z",
    ]
)  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(
    pieces=st.lists(_PIECE, max_size=30),
    crc=st.sampled_from(["%04X", "%04x", "%04o"]),
    prefix=st.booleans(),
)
def test_any_segment_reads_the_same(pieces: list[str], crc: str, prefix: bool) -> None:
    body = "".join(pieces)
    if prefix:  # mostly a standard head, then anything
        body = HEAD[: len(body) % len(HEAD)] + body
    frame = wrap(body.encode(), crc)
    assert python_feed([frame], max_length=9999) == c_feed([frame], max_length=9999)


def _digits(lo: int, hi: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=lo, max_size=hi)


def _mostly(valid: str, other: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """``valid`` five times in six, else something from ``other``."""
    return st.tuples(st.integers(0, 5), other).map(lambda t: t[1] if t[0] == 0 else valid)


_VALUE = st.text(alphabet="aZ09;,= &-é\r", max_size=5)
_HEADS = st.tuples(
    _mostly("20261207143000123", _digits(16, 18)),
    _mostly("22", st.text(alphabet="09aZ-é", min_size=1, max_size=3)),
    _mostly("2011", _digits(3, 5)),
    _mostly("123456", _VALUE),
    _mostly("A1B2", _VALUE),
    _mostly("5", _digits(0, 4)),
    st.one_of(st.none(), st.tuples(_mostly("2", _digits(0, 5)), _mostly("1", _digits(0, 5)))),
    st.lists(_PIECE, max_size=8),
    st.sampled_from(["&&", "&", "", "&&&"]),
)


@settings(max_examples=800, deadline=None)
@given(head=_HEADS, crc=st.sampled_from(["%04X", "%04x"]))
def test_any_head_reads_the_same(
    head: tuple[str, str, str, str, str, str, tuple[str, str] | None, list[str], str], crc: str
) -> None:
    qn, st_, cn, pw, mn, flag, split, cp, end = head
    text = f"QN={qn};ST={st_};CN={cn};PW={pw};MN={mn};Flag={flag};"
    if split is not None:
        text += f"PNUM={split[0]};PNO={split[1]};"
    frame = wrap(f"{text}CP=&&{''.join(cp)}{end}".encode(), crc)
    assert python_feed([frame], max_length=9999) == c_feed([frame], max_length=9999)


_FIELD = st.text(alphabet="0123456789AZaz-_ ;,=&\r\né#", min_size=0, max_size=12)


@settings(max_examples=500, deadline=None)
@given(qn=_FIELD, pw=_FIELD, mn=_FIELD)
def test_the_data_ack_is_the_python_one(qn: str, pw: str, mn: str) -> None:
    import protocol.encoders as enc

    assert enc._DATA_ACK is not None
    ack = enc._DATA_ACK(qn, pw, mn)
    plain = all(f and f.isascii() and enc._SAFE_HEAD(f) for f in (qn, pw, mn))
    if ack is None:
        assert not plain
    else:
        assert ack == enc.encode_frame(f"QN={qn};ST=91;CN=9014;PW={pw};MN={mn};Flag=4;CP=&&&&")


def test_a_data_ack_round_trips() -> None:
    import protocol.encoders as enc

    frame = Decoder().feed(wrap(HEAD.encode()))[0]
    ack = enc.encode_data_ack(frame)  # type: ignore[arg-type]
    reply = Decoder().feed(ack)[0]
    assert (reply.cn, reply.qn, reply.mn, reply.pw) == (9014, frame.qn, frame.mn, frame.pw)  # type: ignore[union-attr]
    assert enc._DATA_ACK is not None and enc._DATA_ACK("Q" * 301, "p", "m") is None


_RAW = st.lists(
    st.sampled_from(
        [b"PW=", b"NewPW=", b"NewSK=", b"New", b"PW", b"=", b";", b",", b"&", b"&&", b"##0123",
         b"\r\n", b"\n", b"123456", b"x", b"\xc3\xa9", b"\xff", b"\xe4\xb8", b"QN=1;"]
    ),
    max_size=25,
).map(b"".join)  # fmt: skip


@settings(max_examples=1500, deadline=None)
@given(raw=_RAW)
def test_the_masked_ledger_text_is_the_python_one(raw: bytes) -> None:
    from protocol import redact

    assert redact.masked_text(raw) == redact._masked_text(raw)


def test_masked_text_masks_the_head_and_the_cp_secrets() -> None:
    from protocol import redact

    raw = b"##0050QN=1;PW=secret;MN=X;CP=&&NewPW=abc;NewSK=0123&&ABCD\r\n"
    assert redact.masked_text(raw) == redact._masked_text(raw)
    assert "secret" not in redact.masked_text(raw) and "abc" not in redact.masked_text(raw)
    assert "0123" not in redact.masked_text(raw)


_STREAM_PIECE = st.one_of(
    st.sampled_from([HEAD, HEAD.replace("Flag=5;", "Flag=4;PNUM=2;PNO=1;"), "QN=1;CP=&&&&"]).map(
        lambda seg: wrap(seg.encode())
    ),
    st.sampled_from([b"garbage", b"\r\n", b"##", b"#", b"##12", b"##0010abc", b" "]),
    st.just(wrap(HEAD.encode(), "%04x")),
    st.just(wrap(HEAD.encode())[:-1] + b"X"),  # no CRLF where LLLL says
    st.just(wrap(HEAD.encode())[:40]),  # a partial frame
)


@settings(max_examples=500, deadline=None)
@given(pieces=st.lists(_STREAM_PIECE, max_size=8), cuts=st.lists(st.integers(0, 400), max_size=4))
def test_any_stream_however_split_gives_the_same_events(
    pieces: list[bytes], cuts: list[int]
) -> None:
    stream = b"".join(pieces)
    bounds = sorted({min(c, len(stream)) for c in cuts})
    chunks = [stream[a:b] for a, b in zip([0, *bounds], [*bounds, len(stream)], strict=True)]
    chunks = [c for c in chunks if c]
    assert c_feed(chunks) == python_feed(chunks)


_CP_PIECE = st.sampled_from(
    ["DataTime=", "20261207143000", "2026120714300012", "DataT=", ";", "a21026-Rtd=8", "x", "é", ""]
)


@settings(max_examples=500, deadline=None)
@given(pieces=st.lists(_CP_PIECE, max_size=6))
def test_the_data_time_read_in_c_is_the_property_s(pieces: list[str]) -> None:
    """feed_clean reads a plain opening DataTime into the frame (``_data_time``): the
    property must answer as it does without it, whatever the CP holds."""
    cp = "".join(pieces)
    frame = wrap((HEAD.split("CP=&&", maxsplit=1)[0] + "CP=&&" + cp + "&&").encode())
    fast, slow = c_feed([frame])[:-2], python_feed([frame])[:-2]
    assert [getattr(e, "data_time", None) for e in fast] == [
        getattr(e, "data_time", None) for e in slow
    ]


def test_a_plain_data_time_is_read_in_c() -> None:
    (frame,) = Decoder().feed(wrap(HEAD.encode()))
    assert frame._data_time == frame.data_time == "20261207143000"  # type: ignore[union-attr]
