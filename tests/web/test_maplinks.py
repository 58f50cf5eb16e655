"""The 导航 links of web/static/js/maplinks.js, run in node: geo: in WGS-84 as stored, 高德 in
GCJ-02 and 百度 in BD-09 — the conversions checked against the values gcoord documents in
its README."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

STATIC = Path(__file__).resolve().parents[2] / "web" / "static"
GCOORD = STATIC / "vendor" / "gcoord" / "gcoord.esm-browser.prod.js"

RUN = """
import { mapLinks, toBd09, toGcj02 } from "./js/maplinks.js";
const out = {
  bd09: toBd09(39.914266, 116.403988),
  gcj02: toGcj02(44.99804071, 122.99395597),
  paris: toGcj02(48.8566, 2.3522),
  links: mapLinks(39.914266, 116.403988, "天安门 A&B"),
};
console.log(JSON.stringify(out));
"""


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None or not GCOORD.is_file():
        pytest.skip("node or gcoord missing: cd web/frontend && npm ci && node copy-vendor.mjs")
    root = tmp_path_factory.mktemp("maplinks")
    (root / "js").mkdir()
    (root / "vendor" / "gcoord").mkdir(parents=True)
    shutil.copy(STATIC / "js" / "maplinks.js", root / "js" / "maplinks.js")
    shutil.copy(GCOORD, root / "vendor" / "gcoord" / GCOORD.name)
    (root / "package.json").write_text('{"type": "module"}')
    (root / "run.js").write_text(RUN)
    done = subprocess.run(
        [node, "run.js"], cwd=root, capture_output=True, text=True, timeout=30, check=True
    )
    parsed: dict[str, Any] = json.loads(done.stdout)
    return parsed


def test_conversions_match_gcoord_documented_values(result: dict[str, Any]) -> None:
    # README: transform([116.403988, 39.914266], WGS84, BD09) → [116.41661560068297, 39.92196580126834]
    assert result["bd09"] == {"lat": 39.921966, "lon": 116.416616}
    # README: transform([123, 45], GCJ02, WGS84) → [122.99395597, 44.99804071]; back again
    assert result["gcj02"]["lat"] == pytest.approx(45, abs=2e-6)
    assert result["gcj02"]["lon"] == pytest.approx(123, abs=2e-6)
    # outside China GCJ-02 is WGS-84
    assert result["paris"] == {"lat": 48.8566, "lon": 2.3522}


def test_links_use_the_system_each_app_expects(result: dict[str, Any]) -> None:
    links = {link["app"]: link for link in result["links"]}
    assert list(links) == ["geo", "amap", "baidu"]
    name = "%E5%A4%A9%E5%AE%89%E9%97%A8%20A%26B"
    assert links["geo"]["href"] == f"geo:39.914266,116.403988?q=39.914266,116.403988({name})"
    amap = links["amap"]["href"]
    assert amap.startswith("https://uri.amap.com/marker?position=116.41")
    assert "coordinate=gaode" in amap and f"name={name}&" in amap
    assert "116.403988" not in amap  # shifted, not the WGS-84 point
    assert links["baidu"]["href"].startswith(
        "https://api.map.baidu.com/marker?location=39.921966,116.416616&"
    )
    assert "coord_type=bd09ll" in links["baidu"]["href"]
