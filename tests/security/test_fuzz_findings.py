"""Minimal reproducers of what ``bench/fuzz.py`` found in ``protocol/``.

Each test states the contract it checks (F1: non-ASCII digits, F2: what is accepted must
not depend on how TCP splits the stream, F3: ``data_time`` and the fields agree); all
three were fixed in ``protocol/``.
"""

from __future__ import annotations

import pytest

from protocol import Decoder, Frame, FrameError, Reply, Role, encode_frame

HEAD = "QN=20240301120000123;ST=22;CN={cn};PW=123456;MN=AQ0000000000000000000001;Flag={flag}"


def feed_split(data: bytes, cut: int, **kw: object) -> list[object]:
    decoder = Decoder(**kw)  # type: ignore[arg-type]
    return decoder.feed(data[:cut]) + decoder.feed(data[cut:]) + decoder.close()


def accepted(events: list[object]) -> list[bytes]:
    return [e.raw for e in events if isinstance(e, Frame)]


# -- F1: non-ASCII digits ---------------------------------------------------------------


def test_superscript_digit_in_flag_is_a_frame_error_not_an_exception() -> None:
    frame = encode_frame(HEAD.format(cn="2011", flag="²") + ";CP=&&a21026-Rtd=8.0&&")
    events = Decoder().feed(frame)  # raised ValueError: invalid literal for int(): '²'
    assert len(events) == 1


def test_superscript_digit_in_cn_is_a_frame_error_not_an_exception() -> None:
    frame = encode_frame(HEAD.format(cn="²011", flag="5") + ";CP=&&a21026-Rtd=8.0&&")
    [event] = Decoder().feed(frame)
    assert isinstance(event, FrameError)


def test_superscript_digit_in_reply_fields_reads_as_none() -> None:
    frame = encode_frame(HEAD.format(cn="9011", flag="4") + ";CP=&&QnRtn=¹&&")
    [event] = Decoder(role=Role.STATION).feed(frame)
    assert isinstance(event, Reply)
    assert event.qn_rtn is None  # raised ValueError from _int_or_none()


# -- F2: what is accepted must not depend on how TCP splits the stream ------------------


def _log_frame(text: str) -> bytes:
    return encode_frame(HEAD.format(cn="3020", flag="5") + f";CP=&&i12001-Info=//{text}//&&")


def test_crlf_inside_info_text_is_accepted_however_the_stream_is_split() -> None:
    frame = _log_frame("line one\r\nline two")
    assert accepted(Decoder().feed(frame)) == [frame]  # one read: accepted
    cut = frame.index(b"\r\n") + 2  # the TCP segment ends right after the inner CRLF
    assert accepted(feed_split(frame, cut)) == [frame]  # was: bad_length + garbage


def test_hash_hash_inside_the_data_segment_is_accepted_however_split() -> None:
    frame = _log_frame("see ##0101 above")
    assert accepted(Decoder().feed(frame)) == [frame]
    cut = frame.index(b"##0101") + 8
    assert accepted(feed_split(frame, cut)) == [frame]  # was: truncated, then bad_length


def test_a_cut_off_frame_followed_by_a_whole_one_is_decided_at_once() -> None:
    """The fix for F2 must not make a good frame wait behind a cut-off one (a station
    waiting for its 9014 would stall): this holds today and must keep holding."""
    good = encode_frame(HEAD.format(cn="2011", flag="5") + ";CP=&&a21026-Rtd=8.0&&")
    cut_off = _log_frame("x" * 600)[:100]
    decoder = Decoder()
    events = decoder.feed(cut_off) + decoder.feed(good)
    assert accepted(events) == [good]


def test_unpadded_crc_frame_is_accepted_when_it_arrives() -> None:
    """Also must keep holding after F2's fix: a CRC written without zero padding makes
    the frame one byte shorter than LLLL says — it is complete, nothing to wait for."""
    segment = HEAD.format(cn="2011", flag="5") + ";CP=&&a21026-Rtd=8.0&&"
    for k in range(200):
        frame = encode_frame(segment + "x" * k)
        if frame[-6:-5] == b"0":
            break
    else:
        pytest.skip("no CRC with a leading zero in 200 tries")
    unpadded = frame[:-6] + frame[-5:]
    events = Decoder().feed(unpadded)
    assert accepted(events) == [unpadded]


# -- F3: data_time and fields agree -------------------------------------------------------


def test_data_time_stops_at_a_comma_like_the_fields() -> None:
    frame = encode_frame(
        HEAD.format(cn="2011", flag="5") + ";CP=&&DataTime=20240301120000,a21026-Rtd=8.0&&"
    )
    [event] = Decoder().feed(frame)
    assert isinstance(event, Frame)
    assert event.fields["DataTime"] == "20240301120000"
    assert event.data_time == "20240301120000"  # was "20240301120000,a21026-Rtd=8.0"


def test_two_data_times_read_as_the_fields_do() -> None:
    frame = encode_frame(
        HEAD.format(cn="2011", flag="5")
        + ";CP=&&DataTime=20240301120000;a21026-Rtd=8.0;DataTime=20240301130000&&"
    )
    [event] = Decoder().feed(frame)
    assert isinstance(event, Frame)
    assert event.data_time == event.fields["DataTime"]  # both name the duplicate


# -- F5: head numbers wider than their fields (they would overflow the ledger) ----------


@pytest.mark.parametrize(
    ("cn", "flag", "extra", "why"),
    [
        ("20111", "5", "", "CN 20111"),
        ("2011", "1024", "", "Flag 1024"),
        ("2011", "7", ";PNUM=10000;PNO=1", "PNUM/PNO 10000/1"),
    ],
)
def test_head_numbers_beyond_their_width_are_bad_headers(
    cn: str, flag: str, extra: str, why: str
) -> None:
    segment = f"ST=22;CN={cn};PW=123456;MN=AQ01;Flag={flag}{extra};CP=&&a21026-Rtd=8.0&&"
    [event] = Decoder().feed(encode_frame(segment))
    assert isinstance(event, FrameError)
    assert event.code == "bad_header" and why in event.detail


# -- F6: frames behind a giant claim are read, whatever arrives in the same read ---------


@pytest.mark.parametrize("filler", [20_000, 10_011, 12_000])
def test_frames_after_a_giant_claim_are_decoded_however_split(filler: int) -> None:
    good = encode_frame(HEAD.format(cn="2011", flag="5") + ";CP=&&a21026-Rtd=8.0&&")
    stream = b"##9999" + b"X" * filler + good
    whole = Decoder().feed(stream)
    assert accepted(whole) == [good]
    for cut in (6, 5000, 10_017, len(stream) - 10):
        assert accepted(feed_split(stream, cut)) == [good], cut
