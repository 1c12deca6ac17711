"""Photos: decoded within a pixel budget per submission and re-encoded without metadata.

Photos (JPEG, PNG, WebP) are decoded and re-encoded: pixels survive, EXIF (GPS, camera, dates), XMP, IPTC,
colour profiles, text chunks and comments do not. Decoding costs memory and CPU by the pixel, not by the
byte (a 130 KB blank PNG is 40 megapixels), so the pixels of every picture of one submission are counted
from the headers before any is decoded: `fit` reduces JPEGs, largest first, by the decoder's own 1/2, 1/4,
1/8 scaling (Pillow's `draft`, which also decodes that much less) until the whole fits the budget, and
refuses the submission when the pictures that cannot be reduced (PNG, WebP) are too many pixels on their
own. One picture is decoded at a time, without a second copy (EXIF rotation happens in place).

Pictures inside DOCX, XLSX, ODT and PDF are not re-encoded: see `lossless`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image, ImageOps

from . import Refused

MAX_IMAGE_PIXELS = 40_000_000  # one picture: more than any phone camera's default, far less than a bomb
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
PIL_FORMATS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}
MAX_SCALE = 8  # libjpeg scales by 1/2, 1/4, 1/8 while decoding
_DECODE_ERRORS = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    Image.DecompressionBombError,
    Image.DecompressionBombWarning,
)


@dataclass
class Picture:
    """One picture's size as its header states it, and the scale it will be decoded at."""

    kind: str
    width: int
    height: int
    scale: int = 1

    @property
    def pixels(self) -> int:
        """Pixels decoded at the current scale."""
        return math.ceil(self.width / self.scale) * math.ceil(self.height / self.scale)

    @property
    def reducible(self) -> bool:
        big_enough = min(self.width, self.height) >= 2 * self.scale
        return self.kind == "jpeg" and self.scale < MAX_SCALE and big_enough


def probe(data: BinaryIO, kind: str) -> Picture:
    """Width and height from the header, nothing decoded; Refused("image") for a bomb or a non-picture."""
    data.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(data, formats=[PIL_FORMATS[kind]]) as img:
                width, height = img.size
    except _DECODE_ERRORS as exc:
        raise Refused("image", "header") from exc
    finally:
        data.seek(0)
    if width <= 0 or height <= 0:
        raise Refused("image", "size")
    return Picture(kind, width, height)


def fit(pictures: list[Picture], budget: int) -> int:
    """Choose scales so that all pictures together decode to at most `budget` pixels; the pixels to decode.

    JPEGs are halved, the largest first, until the total fits; Refused("pixels_total") when even the
    smallest scales leave too many pixels (PNG and WebP cannot be decoded smaller).
    """
    total = sum(p.pixels for p in pictures)
    while total > budget:
        candidates = [p for p in pictures if p.reducible]
        if not candidates:
            raise Refused("pixels_total", f"{total} > {budget}")
        largest = max(candidates, key=lambda p: p.pixels)
        largest.scale *= 2
        total = sum(p.pixels for p in pictures)
    return total


def reencode(data: BinaryIO, picture: Picture, out: BinaryIO) -> None:
    """Decode (at the planned scale) and re-encode into `out`: the pixels only."""
    data.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(data, formats=[PIL_FORMATS[picture.kind]]) as img:
                if picture.scale > 1:
                    img.draft(img.mode, (picture.width // picture.scale, picture.height // picture.scale))
                img.load()
                ImageOps.exif_transpose(img, in_place=True)
                # Pillow writes some of `info` back on save (a JPEG comment, a PNG colour profile):
                # keep only what the pixels need.
                img.info = {k: v for k, v in img.info.items() if k == "transparency"}
                if picture.kind == "jpeg":
                    rgb = img if img.mode in ("RGB", "L") else img.convert("RGB")
                    rgb.save(out, "JPEG", quality=90)
                elif picture.kind == "png":
                    img.save(out, "PNG")
                else:
                    img.save(out, "WEBP", quality=90)
    except _DECODE_ERRORS as exc:
        raise Refused("image", "decode") from exc
