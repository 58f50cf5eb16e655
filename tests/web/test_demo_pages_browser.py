"""Every dashboard page, for every role, with the demo city loaded (``envgrid demo load``):
headless Chromium (tests/browser.py) opens each page the role may see and fails on any
console error or uncaught exception, on a raw HJ 212 factor code or an English word in the
visible text (tests/web/page_words.py; titles may hold codes) and on any station or log-in
password anywhere in the page.  One browser, one log-in per role; pages with an id
get a demo row of their kind (a grid, station, case, task, hazard, alert).
"""

from __future__ import annotations

import asyncio
import re
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Final

import pytest
from aiohttp.test_utils import TestServer

from envgrid.demo.load import LoadReport, load_demo
from envgrid.settings import Settings
from store.db import connect
from store.secretbox import STATION_PASSWORD, box_for
from tests.browser import ARTIFACTS_ROOT, chromium, collect_errors
from tests.web.casework.web_fixture import browser_login
from tests.web.page_words import leaks
from tests.webapp import app_settings
from web import routes
from web.app import create_app

pytestmark = pytest.mark.browser

ARTIFACTS = ARTIFACTS_ROOT / "demo"
#: The table a page's ``{id}`` is taken from, by path prefix.
ID_SOURCES = {
    "/stations/": "SELECT min(s.id) FROM stations s JOIN demo_objects d ON d.kind = 'station' AND d.id = s.id WHERE s.st = '22'",
    "/grid/": "SELECT min(a.id) FROM areas a JOIN demo_objects d ON d.kind = 'area' AND d.id = a.id WHERE a.level = 5",
    "/patrol/tasks/": "SELECT min(id) FROM patrol_tasks",
    "/patrol/hazards/": "SELECT min(id) FROM demo_objects WHERE kind = 'hazard'",
    # a case the demo grid member and unit handler see too (their grid, their unit)
    "/cases/": "SELECT min(c.id) FROM cases c JOIN demo_objects d ON d.kind = 'case' AND d.id = c.id JOIN area_people ap ON ap.area_id = c.grid_id JOIN grid_people p ON p.id = ap.person_id WHERE p.user_name = 'demo_grid'",
    "/alerts/": "SELECT min(id) FROM demo_objects WHERE kind = 'alert'",
}  # fmt: skip
#: Pages outside the comparison (probes, the log-in form itself, the public complaint form
#: a logged-in user never lands on).
SKIPPED = {"/healthz", "/readyz", "/login"}
#: Data a map page fetches, not pages (base-map tiles and boundaries).
SKIPPED_PREFIXES = ("/tiles/", "/basemap/")


def dashboard_pages() -> list[tuple[str, str]]:
    """(path, permission) of every GET page (the route table, as ``web.routes`` builds it)."""
    pages = list(routes.PAGES)
    for module in routes.MODULES:
        pages += getattr(module, "PAGES", ())
    return [
        (p.path, p.auth)
        for p in pages
        if p.method == "GET" and p.path not in SKIPPED and not p.path.startswith(SKIPPED_PREFIXES)
    ]


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with chromium(ARTIFACTS) as b:
        yield b


@pytest.fixture
def demo_settings(db_dsn: str, pg_reachable_tmp: Path) -> Settings:
    # a backup directory whose path has no digit: shown as plain text it would read as
    # English words, so the page must mark it as a path (the random temporary directory
    # has no digit in ~6 % of runs: this was a flaky failure twice)
    backups = Path(tempfile.gettempdir()) / "envgrid-demo" / "backups"
    backups.mkdir(parents=True, exist_ok=True)
    return app_settings(db_dsn, pg_reachable_tmp, {"backup.dir": str(backups)})


@pytest.fixture
async def demo(db_dsn: str, demo_settings: Settings) -> LoadReport:
    return await load_demo(db_dsn, demo_settings)


@pytest.fixture
async def server(
    aiohttp_server: Callable[..., Any], demo_settings: Settings, db_dsn: str, demo: LoadReport
) -> TestServer:
    srv: TestServer = await aiohttp_server(create_app(demo_settings, db_dsn, background=False))
    return srv


async def _urls(dsn: str) -> tuple[dict[str, str], dict[str, frozenset[str]]]:
    """Each page path with its ids filled in; each role's permissions."""
    conn = await connect(dsn)
    try:
        ids = {prefix: await conn.fetchval(sql) for prefix, sql in ID_SOURCES.items()}
        perms = {
            r["name"]: frozenset(r["permissions"])
            for r in await conn.fetch("SELECT name, permissions FROM web_roles")
        }
    finally:
        await conn.close()
    urls = {}
    for path, _auth in dashboard_pages():
        url = path
        if "{" in path:
            prefix = path[: path.index("{")]
            assert ids.get(prefix) is not None, f"no demo row for {path}"
            url = re.sub(r"\{[^}]*\}", str(ids[prefix]), path)
        urls[path] = url
    return urls, perms


def _may(permissions: frozenset[str], auth: str) -> bool:
    return auth in ("public", "user") or "*" in permissions or auth in permissions


#: The page's visible text: text nodes of rendered elements, without titles, form values and
#: what is marked as technical or data (``code``/``pre``/``kbd``/``samp``, ``translate="no"``).
VISIBLE_TEXT: Final = """() => {
  const skip = "code, pre, kbd, samp, script, style, template, [translate='no']";
  const out = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    const p = n.parentElement;
    if (p && !p.closest(skip) && p.checkVisibility()) out.push(n.nodeValue);
  }
  return out.join(" ");
}"""
#: Pages exempt from the English-word check (factor codes still fail): the API reference
#: for developers, whose field names and examples are English by nature.
ENGLISH_PAGES: Final = {"/api/docs"}


#: Everything a page holds: its markup (attributes, hidden parts) and the live form values.
PAGE_TEXT: Final = """() => [document.documentElement.outerHTML,
  ...[...document.querySelectorAll("input, textarea, select")].map((e) => e.value)].join("\\n")"""


async def _station_passwords(dsn: str, settings: Settings) -> list[str]:
    """The demo stations' access passwords, unsealed (what no page may show)."""
    box = box_for(settings.core.secret_key_path)
    conn = await connect(dsn)
    try:
        rows = await conn.fetch("SELECT password FROM stations WHERE password IS NOT NULL")
    finally:
        await conn.close()
    return [box.open(r["password"], STATION_PASSWORD) for r in rows]


async def _shown_secrets(page: Any, secrets: list[str]) -> list[str]:
    text = await page.evaluate(PAGE_TEXT)
    return [f"显示了密码 {s[:2]}…" for s in secrets if s in text]


async def _visible_leaks(page: Any, path: str) -> list[str]:
    """Raw factor codes and English words in the page's visible text (titles excluded)."""
    found = leaks(await page.evaluate(VISIBLE_TEXT))
    return [w for w in found if path not in ENGLISH_PAGES or w.startswith("代码")]


async def _visit(page: Any, url: str) -> str | None:
    """Open the page and wait until its script says it is ready (``body[data-ready]``: every
    page sets it, so no wait depends on the network going quiet); returns the error it shows
    (a red toast), if any."""
    await page.goto(url, wait_until="load")
    await page.wait_for_selector("body[data-ready='1']", state="attached")
    shown = await page.query_selector("#toast.bad:not([hidden])")
    return await shown.inner_text() if shown is not None else None


async def _walk_role(
    browser: Any,
    base: str,
    username: str,
    password: str,
    targets: list[tuple[str, str]],
    secrets: list[str],
) -> dict[str, list[str]]:
    """One log-in, then every page of the role; the errors found, by page: console errors,
    an error toast, raw factor codes or English words, a password (``secrets``) anywhere."""
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page = await context.new_page()
    errors: list[str] = []
    collect_errors(page, errors)
    found: dict[str, list[str]] = {}
    try:
        await browser_login(page, base, username, "/account/2fa", password)
        for path, url in targets:
            errors.clear()
            shown = await _visit(page, base + url)
            words = await _visible_leaks(page, path) + await _shown_secrets(page, secrets)
            if errors or shown or words:
                found[url] = [*errors, *([f"页面提示错误：{shown}"] if shown else []), *words]
    finally:
        await context.close()
    return found


async def test_every_page_every_role_without_console_errors(
    browser: Any, server: TestServer, demo: LoadReport, db_dsn: str, demo_settings: Settings
) -> None:
    base = str(server.make_url("/")).rstrip("/")
    urls, perms = await _urls(db_dsn)
    pages = dashboard_pages()
    plan = {
        username: (password, [(p, urls[p]) for p, auth in pages if _may(perms[role], auth)])
        for username, (role, password) in demo.city.logins.items()
    }
    assert sum(len(t) for _, t in plan.values()) > 150
    secrets = await _station_passwords(db_dsn, demo_settings)
    secrets += [password for _role, password in demo.city.logins.values()]
    assert len(secrets) > 10
    gate = asyncio.Semaphore(2)

    async def walk(username: str) -> dict[str, list[str]]:
        password, targets = plan[username]
        async with gate:
            return await _walk_role(browser, base, username, password, targets, secrets)

    results = await asyncio.gather(*(walk(u) for u in plan))
    found = {
        f"{username} {url}": errs
        for username, res in zip(plan, results, strict=True)
        for url, errs in res.items()
    }
    assert not found, "errors:\n" + "\n".join(f"{k}: {v}" for k, v in found.items())
