"""The latency scenario's summary: Prometheus deltas, the simulator window, the report."""

from __future__ import annotations

from pathlib import Path

from bench.acklatency import bucket_deltas, server_side, station_side
from bench.report import write_report
from simulators import FleetResult
from simulators.stats import LatencyHistogram, TimedHistograms


def _histogram(name: str, label: str, counts: dict[str, float], total: float) -> str:
    lines = []
    for le, n in counts.items():
        inner = f'{label},le="{le}"' if label else f'le="{le}"'
        lines.append(f"{name}_bucket{{{inner}}} {n}")
    suffix = f"{{{label}}}" if label else ""
    lines.append(f"{name}_count{suffix} {counts['+Inf']}")
    lines.append(f"{name}_sum{suffix} {total}")
    return "\n".join(lines)


COMMIT = "envgrid_commit_latency_seconds"
LAG = "envgrid_loop_lag_seconds"
BEFORE = "\n".join(
    [
        _histogram(COMMIT, "", {"0.05": 10, "0.1": 10, "0.2": 10, "+Inf": 10}, 0.3),
        _histogram(LAG, 'worker="0"', {"0.001": 5, "0.01": 5, "0.1": 5, "+Inf": 5}, 0.002),
    ]
)
AFTER = "\n".join(
    [
        _histogram(COMMIT, "", {"0.05": 60, "0.1": 100, "0.2": 110, "+Inf": 110}, 5.3),
        _histogram(LAG, 'worker="0"', {"0.001": 95, "0.01": 104, "0.1": 105, "+Inf": 105}, 0.2),
        _histogram(LAG, 'worker="1"', {"0.001": 50, "0.01": 50, "0.1": 50, "+Inf": 50}, 0.01),
        _histogram(
            "envgrid_gc_pause_seconds", 'generation="2"', {"0.05": 0, "0.1": 2, "+Inf": 2}, 0.15
        ),
    ]
)


def test_bucket_deltas_are_per_label_and_cumulative() -> None:
    deltas = bucket_deltas(BEFORE, AFTER, LAG, "worker")
    assert deltas["0"]["buckets"] == [
        (0.001, 90.0),
        (0.01, 99.0),
        (0.1, 100.0),
        (float("inf"), 100.0),
    ]
    assert deltas["0"]["count"] == 100 and deltas["1"]["count"] == 50


def test_server_side_quantiles_and_max_bucket() -> None:
    out = server_side(BEFORE, AFTER)
    commit = out["received_to_committed"]
    assert commit["count"] == 100 and commit["mean_ms"] == 50.0
    assert commit["p50_ms"] == 50.0 and commit["max_bucket_ms"] == 200.0
    assert 100.0 < commit["p99_ms"] <= 200.0
    assert out["loop_lag_by_worker"]["0"]["max_bucket_ms"] == 100.0
    assert out["gc_pauses_by_generation"] == {
        "2": {"count": 2, "total_ms": 150.0, "max_bucket_ms": 100.0}
    }
    assert out["received_to_committed_histogram"][0] == [50.0, 50.0]


def _result() -> FleetResult:
    acks, lag = TimedHistograms(), TimedHistograms()
    for i in range(100):
        acks.add(1000.0 + i * 0.3, 0.05 if i % 10 else 0.4)  # sent over 30 s
        lag.add(1000.0 + i * 0.3, 0.001)
    acks.add(990.0, 3.0)  # in the ramp, before the window
    return FleetResult(
        mode="fleet",
        started_at="",
        duration_s=40.0,
        sim_start="",
        sim_end="",
        time_scale=1.0,
        config={},
        totals={"frames": {"write_buffered": 0}},
        stations={},
        faults={},
        latency=LatencyHistogram(),
        latency_by_time=acks,
        loop_lag=[lag],
    )


def test_station_side_is_the_window_only(tmp_path: Path) -> None:
    station = station_side(_result(), 1000.0, 1030.0)
    assert station["ack_latency"]["count"] == 100 and station["ack_latency"]["max_ms"] == 400.0
    assert station["simulator_loop_lag"][0]["count"] == 100
    # the report shows both sides in a table and a histogram plot
    scenario = {
        "scenario": "latency",
        "ack_latency": {"window_s": 30.0, "station": station, "server": server_side(BEFORE, AFTER)},
    }
    machine = {
        "cores": 2,
        "memory_gib": 1,
        "cpu": "x",
        "kernel": "k",
        "python": "3.11",
        "open_files_limit": 1,
        "versions": {},
    }
    path = write_report(
        {"machine": machine, "started_at": "now", "scenarios": {"latency": scenario}}, tmp_path
    )
    text = path.read_text()
    assert "| station | 100 |" in text and "| server | 100 |" in text
    assert "| simulator 0 loop lag |" in text and "| worker 1 loop lag |" in text
    assert (tmp_path / "latency-histogram.png").stat().st_size > 1000
