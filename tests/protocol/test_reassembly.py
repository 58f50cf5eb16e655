from __future__ import annotations

from protocol import Decoder, Frame, Reassembler, encode_upload


def part(pno: int, pnum: int = 3, dt: str = "20160801080000", mn: str = "W1") -> Frame:
    raw = encode_upload(
        2061,
        st="32",
        mn=mn,
        pw="1",
        qn=f"2016080108585753{pno}",
        data_time=dt,
        values={f"w0{pno}": {"Avg": str(pno)}},
        pnum=pnum,
        pno=pno,
    )
    [frame] = Decoder().feed(raw)
    assert isinstance(frame, Frame)
    return frame


def test_parts_in_any_order_complete_once() -> None:
    r = Reassembler()
    assert r.add(part(2), 0.0) == []
    assert r.add(part(2), 1.0) == []  # a retransmitted part
    assert r.add(part(3), 1.0) == []
    [group] = r.add(part(1), 2.0)
    assert group.complete and [p.pno for p in group.parts] == [1, 2, 3]
    assert dict(group.values) == {"w01": {"Avg": "1"}, "w02": {"Avg": "2"}, "w03": {"Avg": "3"}}
    assert len(r) == 0 and r.completed == 1


def test_timeout_gives_up_incomplete_groups() -> None:
    r = Reassembler(timeout=10)
    r.add(part(1), 0.0)
    assert r.expire(5.0) == []
    [group] = r.expire(11.0)
    assert not group.complete and group.missing == (2, 3)


def test_cap_on_open_groups_evicts_the_oldest() -> None:
    r = Reassembler(max_open=2)
    r.add(part(1, dt="20160801080000"), 0)
    r.add(part(1, dt="20160801090000"), 0)
    [evicted] = r.add(part(1, dt="20160801100000"), 0)
    assert not evicted.complete and evicted.key[2] == "20160801080000"
    assert len(r) == 2 and r.evicted == 1


def test_unsplit_frame_is_a_group_of_one() -> None:
    raw = encode_upload(
        2011,
        st="22",
        mn="A",
        pw="1",
        qn="1",
        data_time="20240101000000",
        values={"a21026": {"Rtd": "1"}},
    )
    [frame] = Decoder().feed(raw)
    assert isinstance(frame, Frame)
    [group] = Reassembler().add(frame, 0)
    assert group.complete and group.parts == (frame,)
