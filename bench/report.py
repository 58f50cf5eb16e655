"""The benchmark report: Markdown with the figures and PNG plots (matplotlib).

Written by ``envgrid bench … --report DIR``: ``DIR/report.md`` plus one plot per
scenario that has a series (latency over a soak, CPU split, throughput).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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
    return images


def write_report(results: dict[str, Any], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    m = results["machine"]
    lines = [
        "# envgrid benchmark report",
        "",
        f"Engine: {m.get('engine', '?')}.",
        f"Machine: {m['cores']} cores, {m['memory_gib']} GiB, {m['cpu']}, kernel {m['kernel']}, "
        f"Python {m['python']}, {m['postgresql']}, open files {m['open_files_limit']}.",
        f"Versions: {_fmt(m['versions'])}. Started {results['started_at']}.",
        "",
    ]
    faults = _fault_rows(results["scenarios"])
    if faults:
        lines += ["## Faults: nothing lost, nothing duplicated", "", *faults, ""]
    lines += ["## Figures", ""]
    for name, r in results["scenarios"].items():
        lines.append(f"### {name}")
        lines.append("")
        lines.append("```json")
        lines.append(json.dumps(r, indent=1, ensure_ascii=False, default=str)[:4000])
        lines.append("```")
        lines.append("")
    for image in _plots(results, out):
        lines += [f"![{image}]({image})", ""]
    path = out / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
