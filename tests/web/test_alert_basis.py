"""An exceedance judged on a mean shows its basis on the alert page: the period, the mean,
the limit, its standard and the ratio (alerts.means labels)."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from store.db import connect

from .conftest import Seed, insert_alert

LABELS = {
    "averaging": "24h",
    "mean": 90.0,
    "ratio": 1.5,
    "source": "GB 3095—2026 过渡阶段 二级 24小时平均",
    "exceeded": {"24h": {"mean": 90.0, "ratio": 1.5, "limit": 60.0, "start": 0.0}},
}


async def test_alert_detail_names_limit_standard_mean_and_ratio(
    client: TestClient, seeded: Seed
) -> None:
    alert_id = await insert_alert(
        seeded.dsn, station_id=seeded.stations["good"], value=90.0, threshold=60.0
    )
    plain = await insert_alert(seeded.dsn, station_id=seeded.stations["unhealthy"])
    conn = await connect(seeded.dsn)
    try:
        await conn.execute(
            "UPDATE alerts SET labels = labels || $2::jsonb, severity = 'major' WHERE id = $1",
            alert_id,
            LABELS,  # the connection's jsonb codec encodes it
        )
    finally:
        await conn.close()
    resp = await client.get(f"/api/v1/alerts/{alert_id}", headers=seeded.auth("admin"))
    assert resp.status == 200, await resp.text()
    a = (await resp.json())["alert"]
    assert a["severity_zh"] == "较重"
    assert a["basis_zh"] == (
        "24小时平均浓度 90 µg/m³，限值 60 µg/m³（GB 3095—2026 过渡阶段 二级 24小时平均），"
        "为限值的 1.5 倍"
    )
    resp = await client.get(f"/api/v1/alerts/{plain}", headers=seeded.auth("admin"))
    assert "basis_zh" not in (await resp.json())["alert"]  # judged on single values
