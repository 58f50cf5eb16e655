"""HJ 212-2025 over HTTP with the real database: a station's 2025 records (names by the
station's edition, scope and permission denials), and loggers waiting for an MN (listing,
assignment with its CN 1002, scope of a scoped assigner, refusals)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aiohttp_jinja2
from aiohttp.test_utils import TestClient

from store.db import connect

from .conftest import Seed

LOGGER = "6970000000001ABCDEFG1234"
MN = "0100002025A8900016F0003C"


async def _records(seeded: Seed) -> None:
    conn = await connect(seeded.dsn)
    try:
        now = datetime.now(UTC).replace(microsecond=0)
        sid = seeded.stations["good"]
        await conn.execute("UPDATE stations SET registered_edition = '2025' WHERE id = $1", sid)
        for cn, code, value, fields, ago in (
            (2111, "a01901", 868.0, {}, 10),
            (2111, "a01901", 870.0, {}, 5),
            (2013, "a01012", 120.5, {"SampleType": "1", "Flag": "N"}, 5),
            (2062, "w01018", 49.8, {"StandardValue": "50", "ResultType": "0"}, 5),
        ):
            await conn.execute(
                "INSERT INTO records_2025 (station_id, cn, code, ts, value, fields, received_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, now())",
                sid, cn, code, now - timedelta(minutes=ago), value, fields,
            )  # fmt: skip
        other = seeded.stations["unhealthy"]  # a 2017 station in R02
        await conn.execute(
            "INSERT INTO records_2025 (station_id, cn, code, ts, value, received_at)"
            " VALUES ($1, 2013, 'a01012', now() - interval '5 minutes', 99, now())",
            other,
        )
    finally:
        await conn.close()


async def test_station_records_by_edition_scope_and_filters(
    client: TestClient, seeded: Seed
) -> None:
    await _records(seeded)
    sid = seeded.stations["good"]
    resp = await client.get(f"/api/v1/stations/{sid}/records", headers=seeded.auth("viewer"))
    assert resp.status == 200, await resp.text()
    page = await resp.json()
    assert page["total"] == 4 and page["edition"] == "2025"
    names = {(r["cn"], r["code"]): r["name_zh"] for r in page["items"]}
    assert names[(2111, "a01901")] == "炉膛温度" and names[(2013, "a01012")] == "废气温度"
    check = next(r for r in page["items"] if r["cn"] == 2062)
    assert check["value"] == 49.8 and check["fields"]["ResultType"] == "0"
    resp = await client.get(
        f"/api/v1/stations/{sid}/records?cn=2111&code=a01901", headers=seeded.auth("viewer")
    )
    furnace = await resp.json()
    assert [r["value"] for r in furnace["items"]] == [870.0, 868.0]  # newest first
    # the same code from a 2017 station carries the 2017 name: one code, one series
    other = seeded.stations["unhealthy"]
    resp = await client.get(f"/api/v1/stations/{other}/records", headers=seeded.auth("admin"))
    [row] = (await resp.json())["items"]
    assert row["name_zh"] == "烟气温度"
    # outside the caller's scope: 404; a CN that is not a 2025 record: 400
    resp = await client.get(f"/api/v1/stations/{other}/records", headers=seeded.auth("officer"))
    assert resp.status == 404
    resp = await client.get(f"/api/v1/stations/{sid}/records?cn=2011", headers=seeded.auth("admin"))
    assert resp.status == 400
    resp = await client.get(f"/api/v1/stations/{sid}/records")
    assert resp.status == 401


async def _logger(seeded: Seed, logger_id: str = LOGGER) -> None:
    conn = await connect(seeded.dsn)
    try:
        await conn.execute(
            "INSERT INTO pending_loggers (logger_id, cpu_id, mac1, mac2, st, password, peer,"
            " frames) VALUES ($1, 'A800200A8C6D', 'E86A643C7BBC', NULL, '22', 'sent-pw',"
            " '127.0.0.1:5000', 1)",
            logger_id,
        )
    finally:
        await conn.close()


async def test_loggers_listed_assigned_and_refused(client: TestClient, seeded: Seed) -> None:
    await _logger(seeded)
    await _logger(seeded, "OTHER-LOGGER")
    resp = await client.get("/api/v1/pending-loggers", headers=seeded.auth("viewer"))
    assert resp.status == 403
    resp = await client.get("/api/v1/pending-loggers", headers=seeded.auth("admin"))
    listed = await resp.json()
    assert {r["logger_id"] for r in listed} == {LOGGER, "OTHER-LOGGER"}
    assert "password" not in listed[0] and listed[0]["has_password"] is True
    path = f"/api/v1/pending-loggers/{LOGGER}/assign"
    # viewer may not; a bad MN is refused; a scoped officer may not place it outside R01
    resp = await client.post(path, json={"mn": MN}, headers=seeded.auth("viewer"))
    assert resp.status == 403
    resp = await client.post(path, json={"mn": "short"}, headers=seeded.auth("admin"))
    assert resp.status == 409
    resp = await client.post(path, json={"mn": MN, "region": "R02"}, headers=seeded.auth("officer"))
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "out_of_scope"
    conn = await connect(seeded.dsn)
    try:
        assert await conn.fetchval("SELECT count(*) FROM stations WHERE mn = $1", MN) == 0
        assert await conn.fetchval("SELECT count(*) FROM station_commands") == 0
        resp = await client.post(
            path,
            json={"mn": MN, "region": "R01", "name": "焚烧炉 2", "sm4_key": "0000000000000000"},
            headers=seeded.auth("officer"),
        )
        assert resp.status == 201, await resp.text()
        done = await resp.json()
        row = await conn.fetchrow(
            "SELECT s.registered_edition, s.sm4_key, c.cn, c.params, c.status"
            " FROM stations s JOIN station_commands c ON c.station_id = s.id WHERE s.mn = $1",
            MN,
        )
        assert (row["registered_edition"], row["cn"], row["status"]) == ("2025", 1002, "queued")
        assert row["params"] == {"i23005-Info": LOGGER}
        assert row["sm4_key"].startswith("enc:v1:")
        assert done["command_id"] and done["station_id"]
        decision = await conn.fetchval(
            "SELECT decision FROM pending_loggers WHERE logger_id = $1", LOGGER
        )
        assert decision == "assigned"
    finally:
        await conn.close()
    # twice: refused; the list no longer shows it
    resp = await client.post(path, json={"mn": MN}, headers=seeded.auth("admin"))
    assert resp.status == 409
    resp = await client.get("/api/v1/pending-loggers", headers=seeded.auth("admin"))
    assert [r["logger_id"] for r in await resp.json()] == ["OTHER-LOGGER"]
    # rejecting: not by a scoped user, by an unrestricted admin; unknown ids are 404
    reject = "/api/v1/pending-loggers/OTHER-LOGGER/reject"
    resp = await client.post(reject, headers=seeded.auth("officer"))
    assert resp.status == 403
    resp = await client.post(reject, headers=seeded.auth("admin"))
    assert resp.status == 200
    resp = await client.post(reject, headers=seeded.auth("admin"))
    assert resp.status == 404
    resp = await client.post(
        "/api/v1/pending-loggers/bad%20id%3Cx%3E/reject", headers=seeded.auth("admin")
    )
    assert resp.status == 404


async def test_logger_page_station_part_and_navigation(client: TestClient, seeded: Seed) -> None:
    resp = await client.get("/admin/loggers", headers=seeded.auth("admin"))
    assert resp.status == 200
    html = await resp.text()
    assert "数采仪 MN 分配" in html and "js/admin_loggers.js" in html
    assert 'href="/admin/loggers"' in html  # in the navigation of those who may assign
    resp = await client.get("/admin/loggers", headers=seeded.auth("viewer"))
    assert resp.status == 403
    resp = await client.get("/map", headers=seeded.auth("viewer"))
    assert 'href="/admin/loggers"' not in await resp.text()
    for script in ("admin_loggers.js", "station_2025.js"):
        resp = await client.get(f"/static/js/{script}")
        assert resp.status == 200 and "import" in await resp.text()
    # the station page's 2025 part: a template of its own, loading its own module
    env = aiohttp_jinja2.get_env(client.app)
    part = env.get_template("_station_2025.html").render(url=lambda *_a, **kw: kw["filename"])
    assert 'id="records-2025-panel"' in part and "js/station_2025.js" in part


async def test_station_page_names_follow_the_edition(client: TestClient, seeded: Seed) -> None:
    """One code, one series; the name as the station's edition writes it."""
    sid = seeded.stations["good"]
    conn = await connect(seeded.dsn)
    try:
        await conn.execute(
            "UPDATE stations SET expected_factors = expected_factors || '{a01012,a34013}'"
            " WHERE id = $1",
            sid,
        )
        names = {}
        for edition in ("2017", "2025"):
            await conn.execute("UPDATE stations SET edition = $2 WHERE id = $1", sid, edition)
            resp = await client.get(f"/api/v1/stations/{sid}", headers=seeded.auth("viewer"))
            latest = (await resp.json())["latest"]
            names[edition] = {f["code"]: f["name"] for f in latest}
    finally:
        await conn.close()
    assert (names["2017"]["a01012"], names["2025"]["a01012"]) == ("烟气温度", "废气温度")
    assert (names["2017"]["a34013"], names["2025"]["a34013"]) == ("烟尘", "颗粒物（烟尘）")
    assert names["2017"]["a34004"] == names["2025"]["a34004"]  # not renamed
