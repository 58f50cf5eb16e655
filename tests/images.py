"""Small real images for the upload tests (Pillow-made, so they decode): a JPEG carrying
EXIF with a GPS position and an orientation, a PNG and a WebP."""

from __future__ import annotations

import io
from typing import Final

from PIL import Image


def _image(fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 6), (30, 120, 200)).save(out, format=fmt, **options)
    return out.getvalue()


def _exif() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° to show upright
    exif[0x010F] = "PhoneMaker"
    gps = {1: "N", 2: (30.0, 15.0, 7.0), 3: "E", 4: (120.0, 9.0, 3.0)}  # a home, say
    exif[0x8825] = gps
    return exif.tobytes()


#: A JPEG with EXIF (GPS, maker, orientation 6: 8×6 pixels stored, shown 6×8).
JPEG: Final = _image("JPEG", exif=_exif(), quality=90)
PNG: Final = _image("PNG")
WEBP: Final = _image("WEBP")
