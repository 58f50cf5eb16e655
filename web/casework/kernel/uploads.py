"""Photo uploads: type by magic bytes (JPEG/PNG/WebP), size cap, content-addressed files
under ``core.data_dir/uploads`` — never under the web root.

The stored path is relative (``2024/03/ab/<sha256>.jpg``); :func:`resolve_upload` turns it
back into a file path and refuses anything that would leave the uploads directory.  The
name the client sent is kept only as metadata; it never becomes part of a path.  Writes
are atomic (temporary file + rename), so a crash never leaves half a photo.

Every photo is re-encoded by Pillow before it is stored (:func:`strip_metadata`): EXIF
(the GPS position of a complainant's home, the phone's serial), XMP and comments are
dropped, the EXIF orientation is applied to the pixels first so the photo still shows
upright, and a file that only looks like an image (right magic bytes, broken body) or
decodes to an absurd size is refused.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

import asyncpg
from PIL import Image, ImageOps, UnidentifiedImageError

from web.casework.kernel import queries as q

__all__ = [
    "IMAGE_TYPES",
    "StoredFile",
    "UploadError",
    "check_photo",
    "remove_files",
    "resolve_upload",
    "save_photos",
    "sniff_image",
    "store_upload",
    "strip_metadata",
]

log = logging.getLogger(__name__)

#: mime → file extension of the accepted image types.
IMAGE_TYPES: Final = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}


class UploadError(ValueError):
    """Refused upload; the message (Chinese) says why."""


@dataclass(frozen=True, slots=True)
class StoredFile:
    path: str  # relative to the uploads directory
    mime: str
    size: int
    sha256: str
    original_name: str = ""


def sniff_image(data: bytes) -> str | None:
    """The image type from the first bytes (JPEG, PNG, WebP), else None."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _clean_name(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch for ch in base if ch.isprintable())[:200]


def check_photo(data: bytes, *, max_bytes: int, original_name: str = "") -> str:
    """The image type of ``data``, or :class:`UploadError` (empty, too large, not an image)."""
    label = f"照片 {_clean_name(original_name)}".strip()
    if not data:
        raise UploadError(f"{label}为空文件")
    if len(data) > max_bytes:
        raise UploadError(
            f"{label}过大（{len(data) / 1048576:.1f} MB），单张不超过 {max_bytes / 1048576:.1f} MB"
        )
    mime = sniff_image(data)
    if mime is None:
        raise UploadError(f"{label}不是 JPEG、PNG 或 WebP 图片")
    return mime


#: Pillow's format names of the accepted types.
_PIL_FORMATS: Final = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}


def strip_metadata(data: bytes, mime: str) -> bytes:
    """``data`` re-encoded without EXIF, XMP or comments (orientation applied first);
    :class:`UploadError` when it does not decode as the image its magic bytes claim."""
    try:
        with Image.open(io.BytesIO(data), formats=[_PIL_FORMATS[mime]]) as image:
            image.load()
            upright = ImageOps.exif_transpose(image)
            if mime == "image/jpeg" and upright.mode not in ("RGB", "L", "CMYK"):
                upright = upright.convert("RGB")
            out = io.BytesIO()
            options: dict[str, object] = {"quality": 92} if mime != "image/png" else {}
            upright.save(out, format=_PIL_FORMATS[mime], **options)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise UploadError("照片不是有效的图片（无法解码）") from None
    return out.getvalue()


def store_upload(
    uploads_dir: Path,
    data: bytes,
    *,
    max_bytes: int,
    now: datetime,
    original_name: str = "",
) -> StoredFile:
    """Check, strip (:func:`strip_metadata`) and write one photo; the same content is
    stored once."""
    mime = check_photo(data, max_bytes=max_bytes, original_name=original_name)
    return _write(uploads_dir, strip_metadata(data, mime), mime, now, original_name)


def _write(
    uploads_dir: Path, data: bytes, mime: str, now: datetime, original_name: str
) -> StoredFile:
    digest = hashlib.sha256(data).hexdigest()
    rel = f"{now:%Y}/{now:%m}/{digest[:2]}/{digest}{IMAGE_TYPES[mime]}"
    target = uploads_dir / rel
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o640)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return StoredFile(rel, mime, len(data), digest, _clean_name(original_name))


async def save_photos(
    uploads_dir: Path,
    files: Sequence[tuple[str, bytes]],
    *,
    max_bytes: int,
    max_count: int,
    now: datetime,
) -> list[StoredFile]:
    """Check and strip all (name, content) pairs first, then store them (off the event
    loop): nothing is written unless every photo is acceptable."""
    if len(files) > max_count:
        raise UploadError(f"最多上传 {max_count} 张照片（收到 {len(files)} 张）")
    cleaned = []
    for name, data in files:
        mime = check_photo(data, max_bytes=max_bytes, original_name=name)
        cleaned.append((name, mime, await asyncio.to_thread(strip_metadata, data, mime)))
    return [
        await asyncio.to_thread(_write, uploads_dir, data, mime, now, name)
        for name, mime, data in cleaned
    ]


def remove_files(uploads_dir: Path, rels: Sequence[str]) -> int:
    """Delete the stored files ``rels`` (paths that resolve outside the uploads directory
    are refused, missing files skipped); returns how many were deleted."""
    removed = 0
    for rel in rels:
        try:
            path = resolve_upload(uploads_dir, rel)
        except UploadError:
            log.warning("not deleting %r: it is not a path under %s", rel, uploads_dir)
            continue
        if path.is_file():
            path.unlink()
            removed += 1
    return removed


def resolve_upload(uploads_dir: Path, rel: str) -> Path:
    """The file of a stored relative path; refuses paths outside the uploads directory."""
    root = uploads_dir.resolve()
    path = (root / rel).resolve()
    if not path.is_relative_to(root) or path == root:
        raise UploadError("非法的附件路径")
    return path


async def attach(
    conn: asyncpg.Connection, owner: str, owner_id: int, photos: Sequence[StoredFile], by: str
) -> None:
    if photos:
        await q.insert_attachments(
            conn,
            owner,
            owner_id,
            by,
            [p.path for p in photos],
            [p.mime for p in photos],
            [p.size for p in photos],
            [p.sha256 for p in photos],
            [p.original_name for p in photos],
        )
