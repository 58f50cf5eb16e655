"""Uploaded photos: type by magic bytes (never by name or Content-Type), a size cap, a
count cap, stored under ``core.data_dir/uploads`` — outside the web root — under a
content-derived name, and served back only through the checked attachment handler.

Through the service (web/casework/kernel/uploads.py) and through the endpoints
(``POST /api/v1/uploads``, ``GET /api/v1/attachments/{id}``).
"""

from __future__ import annotations

import io
import os
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from envgrid.settings import Settings
from tests.images import JPEG, PNG, WEBP
from tests.web.conftest import Seed
from web.casework.kernel.config import CaseConfig
from web.casework.kernel.uploads import (
    IMAGE_TYPES,
    UploadError,
    check_photo,
    resolve_upload,
    save_photos,
    sniff_image,
    store_upload,
)
from web.routes import STATIC_DIR

from .conftest import scoped_user, unscoped_user

NOW = datetime(2024, 3, 1, 12, tzinfo=UTC)
NOT_IMAGES = {
    "gif": b"GIF89a" + b"\x00" * 32,
    "svg": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    "html": b"<!doctype html><script>alert(1)</script>",
    "pdf": b"%PDF-1.7\n",
    "elf": b"\x7fELF\x02\x01\x01" + b"\x00" * 32,
    "zip": b"PK\x03\x04" + b"\x00" * 32,
    "riff-not-webp": b"RIFF\x24\x00\x00\x00WAVEfmt ",
    "short-jpeg": b"\xff\xd8",
}
WEB_ROOTS = (STATIC_DIR, Path(__file__).resolve().parents[2] / "web")


# -- the service -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "mime"), [(JPEG, "image/jpeg"), (PNG, "image/png"), (WEBP, "image/webp")]
)
def test_images_are_recognised_by_their_bytes(data: bytes, mime: str) -> None:
    assert sniff_image(data) == mime
    assert check_photo(data, max_bytes=1024) == mime


@pytest.mark.parametrize("kind", sorted(NOT_IMAGES))
def test_everything_else_is_refused(kind: str) -> None:
    assert sniff_image(NOT_IMAGES[kind]) is None
    with pytest.raises(UploadError):
        check_photo(NOT_IMAGES[kind], max_bytes=1024, original_name=f"photo.{kind}.jpg")


def test_size_cap_and_empty_files() -> None:
    exact = PNG + b"\x00" * (1000 - len(PNG))
    assert check_photo(exact, max_bytes=1000) == "image/png"
    with pytest.raises(UploadError, match="过大"):
        check_photo(exact + b"\x00", max_bytes=1000)
    with pytest.raises(UploadError, match="空"):
        check_photo(b"", max_bytes=1000)


def test_stored_name_comes_from_the_content_not_the_client(tmp_path: Path) -> None:
    uploads = tmp_path / "uploads"
    stored = store_upload(
        uploads, PNG, max_bytes=1024, now=NOW, original_name="../../../etc/cron.d/x.jpg"
    )
    assert stored.mime == "image/png"
    assert stored.path.endswith(".png")  # the type sniffed, not the ".jpg" sent
    assert ".." not in stored.path and "cron" not in stored.path
    assert stored.path == f"2024/03/{stored.sha256[:2]}/{stored.sha256}.png"
    assert stored.original_name == "x.jpg"  # metadata only
    path = resolve_upload(uploads, stored.path)
    assert path.read_bytes() == PNG
    assert path.is_relative_to(uploads.resolve())
    assert stat.S_IMODE(path.stat().st_mode) == 0o640  # not world-readable, not executable
    assert not [p for p in uploads.rglob(".upload-*")]  # no temporary file left behind
    again = store_upload(uploads, PNG, max_bytes=1024, now=NOW, original_name="b.png")
    assert again.path == stored.path  # the same content is stored once


@pytest.mark.parametrize(
    "rel", ["../outside.png", "../../etc/passwd", "/etc/passwd", "", ".", "2024/../../x.png"]
)
def test_paths_outside_the_uploads_directory_are_refused(tmp_path: Path, rel: str) -> None:
    (tmp_path / "uploads").mkdir()
    with pytest.raises(UploadError):
        resolve_upload(tmp_path / "uploads", rel)


def test_a_symlink_out_of_the_uploads_directory_is_refused(tmp_path: Path) -> None:
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    (tmp_path / "secret.png").write_bytes(PNG)
    os.symlink(tmp_path / "secret.png", uploads / "link.png")
    with pytest.raises(UploadError):
        resolve_upload(uploads, "link.png")


async def test_nothing_is_written_unless_every_photo_is_acceptable(tmp_path: Path) -> None:
    uploads = tmp_path / "uploads"
    with pytest.raises(UploadError):
        await save_photos(
            uploads,
            [("a.png", PNG), ("b.jpg", NOT_IMAGES["html"])],
            max_bytes=1024,
            max_count=5,
            now=NOW,
        )
    assert not uploads.exists() or not any(p.is_file() for p in uploads.rglob("*"))
    with pytest.raises(UploadError, match="最多"):
        await save_photos(uploads, [("a.png", PNG)] * 3, max_bytes=1024, max_count=2, now=NOW)
    stored = await save_photos(
        uploads, [("a.png", PNG), ("b.jpg", JPEG)], max_bytes=1024, max_count=2, now=NOW
    )
    assert [s.mime for s in stored] == ["image/png", "image/jpeg"]


def test_uploads_directory_is_outside_the_web_root(web_settings: Settings) -> None:
    uploads = CaseConfig.from_settings(web_settings).uploads_dir.resolve()
    assert uploads == (Path(web_settings.core.data_dir) / "uploads").resolve()
    for root in WEB_ROOTS:
        assert not uploads.is_relative_to(root.resolve()), (uploads, root)
    assert set(IMAGE_TYPES.values()) == {".jpg", ".png", ".webp"}  # nothing executable


# -- the endpoints -----------------------------------------------------------------------


def form(*files: tuple[str, bytes, str]) -> aiohttp.FormData:
    data = aiohttp.FormData()
    for name, content, content_type in files:
        data.add_field("photo", io.BytesIO(content), filename=name, content_type=content_type)
    return data


def stored_files(settings: Settings) -> list[Path]:
    uploads = Path(settings.core.data_dir) / "uploads"
    return sorted(p for p in uploads.rglob("*") if p.is_file()) if uploads.exists() else []


async def test_upload_endpoint_checks_and_stores_outside_the_web_root(
    client: TestClient, seeded: Seed, web_settings: Settings
) -> None:
    officer = seeded.auth(unscoped_user("officer"))
    resp = await client.post(
        "/api/v1/uploads", data=form(("p.jpg", PNG, "image/jpeg")), headers=officer
    )
    assert resp.status == 201, await resp.text()
    [item] = (await resp.json())["items"]
    assert item["mime"] == "image/png" and item["size"] == len(PNG)
    [path] = stored_files(web_settings)
    assert path.read_bytes() == PNG and path.suffix == ".png"
    for root in WEB_ROOTS:
        assert not path.resolve().is_relative_to(root.resolve())
    rel = path.relative_to(Path(web_settings.core.data_dir) / "uploads").as_posix()
    for url in (f"/static/{rel}", f"/static/../uploads/{rel}", f"/uploads/{rel}"):
        assert (await client.get(url, headers=officer)).status == 404, url


async def test_uploaded_photos_lose_their_exif(
    client: TestClient, seeded: Seed, web_settings: Settings
) -> None:
    """Issue 16, finding 6: a photo's EXIF (the GPS position of a complainant's home, the
    phone) was stored and served back as uploaded.  Now it is gone, the photo upright."""
    from PIL import Image

    with Image.open(io.BytesIO(JPEG)) as sent:
        assert sent.getexif().get_ifd(0x8825)  # the fixture does carry a GPS position
    officer = seeded.auth(unscoped_user("officer"))
    resp = await client.post(
        "/api/v1/uploads", data=form(("home.jpg", JPEG, "image/jpeg")), headers=officer
    )
    assert resp.status == 201, await resp.text()
    [path] = stored_files(web_settings)
    stored = path.read_bytes()
    assert b"Exif" not in stored and b"PhoneMaker" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert dict(image.getexif()) == {}
        assert image.size == (6, 8)  # the orientation was applied to the pixels


async def test_a_photo_that_does_not_decode_is_refused(
    client: TestClient, seeded: Seed, web_settings: Settings
) -> None:
    officer = seeded.auth(unscoped_user("officer"))
    fake = JPEG[:20] + b"\x00" * 200  # JPEG magic, broken body
    resp = await client.post(
        "/api/v1/uploads", data=form(("x.jpg", fake, "image/jpeg")), headers=officer
    )
    assert resp.status == 400 and "无法解码" in (await resp.json())["error"]["message"]
    assert stored_files(web_settings) == []


@pytest.mark.parametrize(
    ("files", "status"),
    [
        ([("x.jpg", NOT_IMAGES["html"], "image/jpeg")], 400),  # HTML dressed as a JPEG
        ([("x.png", NOT_IMAGES["svg"], "image/png")], 400),  # SVG with a script
        ([("x.gif", NOT_IMAGES["gif"], "image/gif")], 400),
        ([("ok.png", PNG, "image/png"), ("x.jpg", b"MZ\x90\x00", "image/jpeg")], 400),
        ([(f"{i}.png", PNG + bytes([i]), "image/png") for i in range(30)], 400),  # count
    ],
    ids=["html-as-jpeg", "svg", "gif", "one-bad-of-two", "too-many"],
)
async def test_upload_endpoint_refuses(
    client: TestClient,
    seeded: Seed,
    web_settings: Settings,
    files: list[tuple[str, bytes, str]],
    status: int,
) -> None:
    resp = await client.post(
        "/api/v1/uploads", data=form(*files), headers=seeded.auth(unscoped_user("officer"))
    )
    assert resp.status == status, await resp.text()
    assert stored_files(web_settings) == []


async def test_upload_endpoint_refuses_oversize(
    client: TestClient, seeded: Seed, web_settings: Settings
) -> None:
    limit = CaseConfig.from_settings(web_settings).cases.upload_max_bytes
    big = PNG + b"\x00" * (limit + 1 - len(PNG))
    resp = await client.post(
        "/api/v1/uploads",
        data=form(("big.png", big, "image/png")),
        headers=seeded.auth(unscoped_user("officer")),
    )
    assert resp.status == 413, await resp.text()
    assert stored_files(web_settings) == []


async def test_upload_endpoint_needs_a_writer(client: TestClient, seeded: Seed) -> None:
    data = form(("p.png", PNG, "image/png"))
    assert (await client.post("/api/v1/uploads", data=data)).status == 401
    data = form(("p.png", PNG, "image/png"))
    resp = await client.post(
        "/api/v1/uploads", data=data, headers=seeded.auth(unscoped_user("viewer"))
    )
    assert resp.status == 403
    resp = await client.post(
        "/api/v1/uploads",
        json={"photo": "x"},
        headers=seeded.auth(unscoped_user("officer")),
    )
    assert resp.status == 415


async def test_attachment_is_served_with_its_sniffed_type_and_only_within_scope(
    client: TestClient, seeded: Seed
) -> None:
    officer = seeded.auth(unscoped_user("officer"))
    resp = await client.post(
        "/api/v1/uploads", data=form(("p.jpg", PNG, "text/html")), headers=officer
    )
    assert resp.status == 201, await resp.text()
    token = (await resp.json())["items"][0]["token"]
    body: dict[str, Any] = {
        "title": "上传测试",
        "category": "complaint.air",
        "grid_id": seeded.areas["G02-1"],  # district R02: outside the scoped users' R01
        "photos": [token],
    }
    resp = await client.post("/api/v1/cases", json=body, headers=officer)
    if resp.status != 201:
        pytest.skip(f"cannot open a case with a photo here ({resp.status}: {await resp.text()})")
    case_id = (await resp.json())["id"]
    detail = await (await client.get(f"/api/v1/cases/{case_id}", headers=officer)).text()
    ids = sorted(set(int(m) for m in _attachment_ids(detail)))
    assert ids, detail[:500]
    url = f"/api/v1/attachments/{ids[0]}"
    resp = await client.get(url, headers=officer)
    assert resp.status == 200
    assert await resp.read() == PNG
    assert resp.headers["Content-Type"].startswith("image/png")  # not the "text/html" sent
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    outsider = await client.get(url, headers=seeded.auth(scoped_user("officer")))
    assert outsider.status in (403, 404), await outsider.text()
    assert (await client.get(url)).status == 401


def _attachment_ids(text: str) -> list[str]:
    import re

    return re.findall(r"/api/v1/attachments/(\d+)", text) or re.findall(
        r'"attachment_id":\s*(\d+)', text
    )
