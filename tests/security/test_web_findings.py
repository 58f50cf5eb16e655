"""Reproducers of what the security tests found in web/ (F4: non-ASCII digits in path
ids; fixed in web/params.py)."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient

from tests.web.conftest import Seed

SUPERSCRIPT_TWO = "%C2%B2"  # "²": str.isdigit() is True, int() raises
ARABIC_THREE = "%D9%A3"  # "٣": str.isdigit() is True and int("٣") == 3


def id_routes(client: TestClient) -> list[tuple[str, str]]:
    out = []
    for route in client.app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("formatter") or ""
        if "{" in path and route.method != "HEAD" and not path.endswith("/live"):
            out.append((route.method, path))
    return sorted(set(out))


async def test_non_ascii_digits_in_path_ids_are_not_server_errors(
    client: TestClient, seeded: Seed
) -> None:
    routes = id_routes(client)
    assert len(routes) > 20
    failures = []
    for method, path in routes:
        url = re.sub(r"\{\w+(?::[^}]*)?\}", SUPERSCRIPT_TWO, path)
        kwargs = {"json": {}} if method in ("POST", "PUT", "PATCH", "DELETE") else {}
        resp = await client.request(method, url, headers=seeded.auth("admin"), **kwargs)
        if resp.status >= 500:
            failures.append(f"{method} {url} → {resp.status}")
    assert not failures, "\n".join(failures)


async def test_only_ascii_digits_name_an_object(client: TestClient, seeded: Seed) -> None:
    resp = await client.get(f"/api/v1/stations/{ARABIC_THREE}", headers=seeded.auth("admin"))
    assert resp.status == 404
