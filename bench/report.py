"""The benchmark report: Markdown with the figures and PNG plots (matplotlib).

Written by ``envgrid bench … --report DIR``: ``DIR/report.md`` plus one plot per
scenario that has a series (latency over a soak, CPU split, throughput).  Each scenario is
shown with the engine of the database it measured; a run with ``--engines`` gets a table
of the engines side by side (throughput, CPU, latency; the aggregates' refresh cost).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .connections import connection_lines, plot_ramp

__all__ = ["write_report"]


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_fmt(v)}" for k, v in value.items())
    return str(value)


def _fault_rows(scenarios: dict[str, Any]) -> list[str]:
    rows = [
        "| scenario | load | fault | sent | acked | stored | lost | duplicated | recovery |",
        "|---|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, r in scenarios.items():
        if "lost" not in r:
            continue
        recovery = r.get("recovery_s")
        rows.append(
            f"| {name} | {r.get('load', '')} | {r.get('fault', '')} | {_fmt(r['sent'])} | "
            f"{_fmt(r['acked'])} | {_fmt(r['stored'])} | {r['lost']} | {r['duplicated']} | "
            f"{'' if recovery is None else f'{recovery} s'} |"
        )
    return rows if len(rows) > 2 else []


def _cell(value: Any, unit: str = "") -> str:
    return "" if value is None else f"{_fmt(value)}{unit}"


def _engine_rows(scenarios: dict[str, Any]) -> list[str]:
    """The engines side by side: one row per scenario result that carries an engine."""
    rows = [
        "| scenario | engine | frames/s committed | values/s | envgrid cores | PostgreSQL cores"
        " | envgrid µs/frame | PostgreSQL µs/frame | p50 | p99 |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    refresh = [
        "| engine | stations | hour: load | hour: refresh | idle refresh | backfill rows"
        " | backfill: load | backfill: refresh |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in scenarios.items():
        label = r.get("engine") or ""
        if r.get("skipped") or r.get("error"):
            why = r.get("skipped") or r.get("error")
            what = "skipped" if r.get("skipped") else "failed"
            rows.append(f"| {name} | {r.get('engine_choice', '')}: {what} — {why} |||||||||")
            continue
        if "frames_committed_per_s" in r:
            cpu, latency = r.get("cpu") or {}, r.get("latency_s") or {}
            rows.append(
                f"| {name} | {label} | {_cell(r['frames_committed_per_s'])} |"
                f" {_cell(r.get('values_committed_per_s'))} | {_cell(cpu.get('server_cores'))} |"
                f" {_cell(cpu.get('postgres_cores'))} |"
                f" {_cell(r.get('server_cpu_us_per_frame'))} |"
                f" {_cell(r.get('postgres_cpu_us_per_frame'))} |"
                f" {_cell(latency.get('p50'), ' s')} |"
                f" {_cell(latency.get('p99'), ' s')} |"
            )
        cost = r.get("refresh")
        if isinstance(cost, dict) and "refresh_hour_s" in cost:
            sizes = cost.get("sizes", {})
            refresh.append(
                f"| {cost.get('engine', label)} | {_cell(sizes.get('stations'))} |"
                f" {_cell(cost.get('load_hour_s'), ' s')} |"
                f" {_cell(cost.get('refresh_hour_s'), ' s')} |"
                f" {_cell(cost.get('refresh_idle_s'), ' s')} |"
                f" {_cell(cost.get('backfill_rows'))} |"
                f" {_cell(cost.get('load_backfill_s'), ' s')} |"
                f" {_cell(cost.get('refresh_backfill_s'), ' s')} |"
            )
    out: list[str] = []
    if len(rows) > 2:
        out += [*rows, ""]
    if len(refresh) > 2:
        out += ["Aggregate refresh (aggregates.jobs.run_refresh):", "", *refresh, ""]
    return out


def _latency_rows(scenarios: dict[str, Any]) -> list[str]:
    """Station side and server side of the latency scenario, one row each."""
    ack = (scenarios.get("latency") or {}).get("ack_latency")
    if not ack:
        return []
    station, server = ack["station"], ack["server"]
    rows = [
        f"Window {ack['window_s']} s. Station side: last byte of the frame handed to the kernel"
        " → its 9014 read; server side: frame read → batch committed (the ack is written in"
        " the same callback).",
        "",
        "| side | frames | p50 | p90 | p99 | p99.9 | max |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    s = station["ack_latency"]
    rows.append(
        f"| station | {_cell(s['count'])} | {_cell(s['p50_ms'], ' ms')} |"
        f" {_cell(s['p90_ms'], ' ms')} | {_cell(s['p99_ms'], ' ms')} |"
        f" {_cell(s['p99_9_ms'], ' ms')} | {_cell(s['max_ms'], ' ms')} |"
    )
    c = server.get("received_to_committed") or {}
    rows.append(
        f"| server | {_cell(c.get('count'))} | {_cell(c.get('p50_ms'), ' ms')} |"
        f" {_cell(c.get('p90_ms'), ' ms')} | {_cell(c.get('p99_ms'), ' ms')} |"
        f" {_cell(c.get('p99.9_ms'), ' ms')} | ≤ {_cell(c.get('max_bucket_ms'), ' ms')} |"
    )
    for i, lag in enumerate(station["simulator_loop_lag"]):
        rows.append(
            f"| simulator {i} loop lag | {_cell(lag['count'])} | {_cell(lag['p50_ms'], ' ms')} |"
            f" {_cell(lag['p90_ms'], ' ms')} | {_cell(lag['p99_ms'], ' ms')} |"
            f" {_cell(lag['p99_9_ms'], ' ms')} | {_cell(lag['max_ms'], ' ms')} |"
        )
    for worker, lag in server.get("loop_lag_by_worker", {}).items():
        rows.append(
            f"| worker {worker} loop lag | {_cell(lag['count'])} |"
            f" {_cell(lag['p50_ms'], ' ms')} | {_cell(lag['p90_ms'], ' ms')} |"
            f" {_cell(lag['p99_ms'], ' ms')} | {_cell(lag['p99.9_ms'], ' ms')} |"
            f" ≤ {_cell(lag['max_bucket_ms'], ' ms')} |"
        )
    gc = server.get("gc_pauses_by_generation") or {}
    if gc:
        rows += ["", "GC pauses: " + "; ".join(f"generation {g}: {_fmt(v)}" for g, v in gc.items())]
    return [*rows, ""]


def _plots(results: dict[str, Any], out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    images: list[str] = []
    scenarios = results["scenarios"]
    cpu = {n: r["cpu"] for n, r in scenarios.items() if isinstance(r.get("cpu"), dict)}
    if cpu:
        fig, ax = plt.subplots(figsize=(7, 3.5))
        names = list(cpu)
        server = [cpu[n].get("server_cores", 0) for n in names]
        pg = [cpu[n].get("postgres_cores", 0) for n in names]
        ax.bar(names, server, label="envgrid")
        ax.bar(names, pg, bottom=server, label="PostgreSQL")
        ax.set_ylabel("CPU cores")
        ax.set_title("CPU by process while measuring")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / "cpu.png", dpi=110)
        plt.close(fig)
        images.append("cpu.png")
    soak = scenarios.get("soak")
    if soak and soak.get("latency_per_sample"):
        p99 = [s.get("p99") for s in soak["latency_per_sample"]]
        fig, ax = plt.subplots(figsize=(7, 3.5))
        ms = [float("nan") if v is None else float(v) * 1000 for v in p99]
        ax.plot(list(range(1, len(ms) + 1)), ms, marker="o")
        ax.set_xlabel("sample")
        ax.set_ylabel("p99 received → committed (ms)")
        ax.set_title("Soak: latency over time")
        fig.tight_layout()
        fig.savefig(out / "soak-latency.png", dpi=110)
        plt.close(fig)
        images.append("soak-latency.png")
    for name, r in scenarios.items():
        if r.get("scenario") == "connections" and (image := plot_ramp(name, r, out, plt)):
            images.append(image)
    latency = scenarios.get("latency")
    if latency and latency.get("ack_latency"):
        images.append(_latency_plot(plt, latency["ack_latency"], out))
    return images


def _latency_plot(plt: Any, ack: dict[str, Any], out: Path) -> str:
    """Histogram of the station-side ack latency (log buckets) with the server's
    received → committed beside it, both over the scenario's window."""
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    station = ack["station"]
    edges = [edge for edge, _ in station["ack_latency_histogram"]]
    counts = [n for _, n in station["ack_latency_histogram"]]
    if edges:  # buckets ×1.15 wide: a bar from the lower to the upper edge
        ax.bar(
            [e / 1.15 for e in edges],
            counts,
            width=[e - e / 1.15 for e in edges],
            align="edge",
            alpha=0.7,
            label="station: last byte sent → 9014 read",
        )
    server = ack["server"].get("received_to_committed_histogram") or []
    lower, below, xs, ys = 0.0, 0.0, [], []
    for edge, cumulative in server:  # cumulative Prometheus buckets → per bucket
        xs.append(max(lower, 0.5))
        ys.append(cumulative - below)
        lower, below = edge, cumulative
    if xs:
        widths = [edge - x for (edge, _), x in zip(server, xs, strict=True)]
        ax.bar(
            xs,
            ys,
            width=widths,
            align="edge",
            fill=False,
            edgecolor="black",
            linewidth=0.8,
            label="server: received → committed",
        )
    ax.set_xscale("log")
    ax.set_xlabel("ms")
    ax.set_ylabel("frames")
    lat = station["ack_latency"]
    ax.set_title(
        f"Ack latency, {lat['count']:,} frames: p50 {lat['p50_ms']:.0f} ms, "
        f"p99 {lat['p99_ms']:.0f} ms, max {lat['max_ms']:.0f} ms"
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "latency-histogram.png", dpi=110)
    plt.close(fig)
    return "latency-histogram.png"


def write_report(results: dict[str, Any], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    m = results["machine"]
    scenarios = results["scenarios"]
    engines = sorted({r["engine"] for r in scenarios.values() if r.get("engine")})
    installed = m.get("postgresql_installed", m.get("postgresql", "?"))
    lines = [
        "# envgrid benchmark report",
        "",
        f"Engines measured (read from each database): {' · '.join(engines) or 'none'}.",
        f"Machine: {m['cores']} cores, {m['memory_gib']} GiB, {m['cpu']}, kernel {m['kernel']}, "
        f"Python {m['python']}, installed {installed}, open files {m['open_files_limit']}.",
        f"Versions: {_fmt(m['versions'])}. Started {results['started_at']}.",
        "",
    ]
    side_by_side = _engine_rows(scenarios)
    if side_by_side:
        lines += ["## Engines", "", *side_by_side]
    faults = _fault_rows(results["scenarios"])
    if faults:
        lines += ["## Faults: nothing lost, nothing duplicated", "", *faults, ""]
    latency = _latency_rows(scenarios)
    if latency:
        lines += ["## Ack latency", "", *latency]
    lines += ["## Figures", ""]
    for name, r in scenarios.items():
        engine = r.get("engine") or (r.get("skipped") and "skipped") or ""
        lines.append(f"### {name} — {engine}" if engine else f"### {name}")
        lines.append("")
        if r.get("scenario") == "connections" and "server_memory" in r:
            lines += connection_lines(r)
        lines.append("```json")
        lines.append(json.dumps(r, indent=1, ensure_ascii=False, default=str)[:4000])
        lines.append("```")
        lines.append("")
    for image in _plots(results, out):
        lines += [f"![{image}]({image})", ""]
    path = out / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
