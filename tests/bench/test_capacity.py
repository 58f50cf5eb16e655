"""Planning a large connections run (workers, simulator processes, source addresses), the
kernel limits checked before it starts, and the readers of process and kernel memory."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bench.capacity import (
    HoldPlan,
    LimitCheck,
    LimitError,
    SystemLimits,
    check_limits,
    hold_plan,
    read_limits,
    refuse,
)
from bench.connections import connection_lines
from bench.proc import cores_between
from bench.sockmem import (
    ProcMemory,
    parse_skmem,
    parse_slabinfo,
    parse_smaps_rollup,
    parse_sockstat,
)

HOST = SystemLimits(
    open_files=20_000,
    file_max=2_466_239,
    files_allocated=3_000,
    port_low=32_768,
    port_high=60_999,
    somaxconn=4096,
    syn_backlog=2048,
    conntrack_max=262_144,
    conntrack_count=100,
)


@pytest.mark.parametrize(
    ("stations", "kwargs", "expected"),
    [
        # 100,000 × 1.1 / 19,500 → 6 workers; 15,000 a process → 7; 14,116 an address → 8
        (100_000, {}, HoldPlan(100_000, 6, 19_500, 7, 14_286, 8, 12_500)),
        (36_000, {}, HoldPlan(36_000, 3, 19_500, 3, 12_000, 3, 12_000)),
        (1000, {}, HoldPlan(1000, 1, 19_500, 1, 1000, 1, 1000)),
        (100_000, {"workers": 9}, HoldPlan(100_000, 9, 19_500, 7, 14_286, 8, 12_500)),
        (
            100_000,
            {"per_worker": 10_000, "per_process": 25_000},
            # per_process is capped below the open-files limit (20,000 − 64)
            HoldPlan(100_000, 11, 10_000, 6, 16_667, 8, 12_500),
        ),
    ],
)
def test_the_plan_follows_the_limits(
    stations: int, kwargs: dict[str, int], expected: HoldPlan
) -> None:
    assert hold_plan(stations, HOST, **kwargs) == expected


def test_a_smaller_open_files_limit_means_more_workers_and_processes() -> None:
    plan = hold_plan(100_000, SystemLimits(open_files=10_000))
    assert (plan.workers, plan.per_worker, plan.processes) == (12, 9_500, 11)


def _failed(checks: list[LimitCheck]) -> dict[str, str]:
    return {c.name: c.severity for c in checks if not c.ok}


def test_this_host_holds_100k() -> None:
    plan = hold_plan(100_000, HOST)
    checks = check_limits(plan, HOST, 3000.0)
    assert _failed(checks) == {}
    assert {c.name for c in checks} == {
        "open_files_per_process",
        "workers_capacity",
        "fs.file-max",
        "net.ipv4.ip_local_port_range",
        "net.core.somaxconn",
        "net.ipv4.tcp_max_syn_backlog",
        "net.netfilter.nf_conntrack_max",
    }
    refuse(checks)  # nothing to refuse


@pytest.mark.parametrize(
    ("limits", "workers", "failed", "fix"),
    [
        (
            replace(HOST, conntrack_max=65_536),
            0,
            {"net.netfilter.nf_conntrack_max": "error"},
            "nf_conntrack_max=200200",
        ),
        (
            replace(HOST, file_max=150_000),
            0,
            {"fs.file-max": "error"},
            "fs.file-max=213000",
        ),
        (HOST, 2, {"workers_capacity": "error"}, "--workers 6"),
        (
            replace(HOST, port_low=60_800),
            0,
            {"net.ipv4.ip_local_port_range": "error"},
            "ip_local_port_range",
        ),
    ],
)
def test_a_limit_the_run_cannot_pass_refuses_it_with_the_fix(
    limits: SystemLimits, workers: int, failed: dict[str, str], fix: str
) -> None:
    checks = check_limits(hold_plan(100_000, limits, workers=workers), limits, 3000.0)
    assert _failed(checks) == failed
    with pytest.raises(LimitError, match=fix):
        refuse(checks)


def test_a_short_accept_queue_is_only_a_warning() -> None:
    limits = SystemLimits(open_files=20_000, somaxconn=128, syn_backlog=32)
    checks = check_limits(hold_plan(100_000, limits), limits, 3000.0)
    assert _failed(checks) == {
        "net.core.somaxconn": "warning",
        "net.ipv4.tcp_max_syn_backlog": "warning",
    }
    refuse(checks)  # the ramp is slower, the run still holds


def test_read_limits_from_a_proc_tree(tmp_path: Path) -> None:
    files = {
        "sys/net/ipv4/ip_local_port_range": "1024\t65000\n",
        "sys/fs/file-max": "500000\n",
        "sys/fs/file-nr": "4000\t0\t500000\n",
        "sys/net/core/somaxconn": "4096\n",
        "sys/net/ipv4/tcp_max_syn_backlog": "1024\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    limits = read_limits(tmp_path)
    assert limits.ports == 63_977
    assert (limits.file_max, limits.files_allocated) == (500_000, 4000)
    assert (limits.somaxconn, limits.syn_backlog, limits.conntrack_max) == (4096, 1024, None)
    (tmp_path / "sys/net/netfilter").mkdir(parents=True)
    (tmp_path / "sys/net/netfilter/nf_conntrack_max").write_text("262144\n")
    (tmp_path / "sys/net/netfilter/nf_conntrack_count").write_text("7\n")
    assert (read_limits(tmp_path).conntrack_max, read_limits(tmp_path).conntrack_count) == (
        262_144,
        7,
    )


SMAPS = """55dcd3e2b000-7fff5428a000 ---p 00000000 00:00 0                          [rollup]
Rss:                1760 kB
Pss:                 225 kB
Pss_Dirty:           112 kB
Shared_Clean:       1608 kB
Private_Clean:        40 kB
Private_Dirty:       112 kB
"""

SOCKSTAT = """sockets: used 27
TCP: inuse 10 orphan 0 tw 76 alloc 10 mem 218
UDP: inuse 0 mem 0
"""

SLABINFO = """slabinfo - version: 2.1
# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables
TCPv6                 26     26   2496   13    8 : tunables    0    0    0 : slabdata      2
TCP                   65    117   2368   13    8 : tunables    0    0    0 : slabdata      9
sock_inode_cache     190    190    832   19    4 : tunables    0    0    0 : slabdata     10
filp                1366   1386    192   21    1 : tunables    0    0    0 : slabdata     66
"""

SS = """0      0      127.0.0.1:43107 127.0.0.1:56348
\t skmem:(r0,rb131072,t0,tb3939840,f4096,w0,o0,bl0,d0)
0      0      127.0.0.1:56348 127.0.0.1:43107
\t skmem:(r0,rb131072,t0,tb3939840,f0,w0,o0,bl0,d0)
0      0      127.0.0.3:40000 127.0.0.1:43107\t skmem:(r10,rb131072,t0,tb3939840,f0,w5,o0,bl0,d0)
0      0      127.0.0.1:5432 127.0.0.1:40001
\t skmem:(r0,rb131072,t0,tb3939840,f9999,w0,o0,bl0,d0)
"""


def test_memory_readers() -> None:
    assert parse_smaps_rollup(SMAPS) == ProcMemory(1760 * 1024, 225 * 1024, 152 * 1024, 1)
    assert ProcMemory(5, 4, 3, 1) + ProcMemory(1, 1, 1, 1) - ProcMemory(2, 2, 2, 1) == (
        ProcMemory(4, 3, 2, 1)
    )
    assert parse_sockstat(SOCKSTAT) == {"inuse": 10, "orphan": 0, "tw": 76, "alloc": 10, "mem": 218}
    assert parse_slabinfo(SLABINFO) == {
        "TCP": 117 * 2368,
        "sock_inode_cache": 190 * 832,
        "filp": 1386 * 192,
    }
    server, client = parse_skmem(SS, 43107)
    assert (server.sockets, server.bytes) == (1, 4096)
    assert (client.sockets, client.bytes) == (2, 15)  # 127.0.0.5432's socket is neither


def test_the_report_table_says_what_limited_the_run() -> None:
    lines = connection_lines(
        {
            "stations": 100_000,
            "connections_held": 99_000,
            "server_memory": {"per_connection_bytes": {"pss": 3072, "uss": 3000, "rss": 3100}},
            "limited_by": "99000 of 100000 sessions; …",
        }
    )
    assert "| stations held (sessions gauge) | 99,000 of 100,000 |" in lines
    assert any("PSS 3.00 KiB" in line for line in lines)
    assert lines[-2].startswith("| limited by | 99000 of 100000")


def test_idle_cpu_from_per_process_samples() -> None:
    # pid 2 started during the hold (counts whole), pid 3 ended (left out, not negative)
    before = {1: 10.0, 3: 50.0}
    after = {1: 10.3, 2: 0.3}
    assert cores_between(before, after, 30.0) == 0.02
    assert cores_between({1: 5.0, 3: 50.0}, {1: 5.0}, 30.0) == 0.0
