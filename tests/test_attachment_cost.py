"""Finding 3: cheap requests that cost seconds. Pictures are counted by their decoded pixels, for the whole
submission and for the sender's address, before any is decoded; JPEGs are decoded smaller to fit.

"Quickly" is shown without a clock: the refused submission decodes nothing at all (the decoder is
watched). The CPU and memory figures are measured by bench/pixel_budget.py.
"""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image, ImageFile

from intake.cleaning import Refused, images

from .citizen_helpers import case_count, image_bytes, stored_files, submit, submit_ok, valid_data

WIDTH, HEIGHT = 7280, 5450  # 39.7 megapixels, under the 40-megapixel limit of one picture


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@pytest.fixture(scope="module")
def blank_png() -> bytes:
    """A white 7280 x 5450 RGB PNG, as the review sent it: 130 KB that decode to 119 MB."""
    packer = zlib.compressobj(9)
    row = b"\x00" + b"\xff" * (3 * WIDTH)
    idat = b"".join(packer.compress(row) for _ in range(HEIGHT)) + packer.flush()
    header = struct.pack(">IIBBBBB", WIDTH, HEIGHT, 8, 2, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    assert Image.open(io.BytesIO(data)).size == (WIDTH, HEIGHT)
    return data


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every picture decoded during the test (Pillow's load), by format."""
    seen: list[str] = []
    load = ImageFile.ImageFile.load

    def watched(self: ImageFile.ImageFile) -> object:
        if self.tile:  # pixels still to decode (a second load() of the same picture is free)
            seen.append(str(self.format))
        return load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", watched)
    return seen


def test_cheap_requests_that_cost_seconds_ten_blank_png_are_refused_before_decoding(
    app: Flask, client: FlaskClient, blank_png: bytes, decodes: list[str]
) -> None:
    files = [(blank_png, f"blank-{i}.png") for i in range(10)]
    assert sum(len(f[0]) for f in files) < 1_500_000  # the review's 1.5 MB
    response = submit(client, "corruption", data=valid_data("corruption", "KEEP-ME"), files=files)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    error = page.split('id="attachments-error">')[1].split("</p>")[0]
    assert "150 ล้านพิกเซล" in error and "ข้อความอื่นที่คุณเขียนไว้ยังอยู่ครบ" in error
    assert page.count("KEEP-ME") >= 4  # details, when/where, who, contact: everything typed is kept
    assert decodes == [] and case_count(app) == 0

    client.set_cookie("lang", "en")
    response = submit(client, "corruption", data=valid_data("corruption", "KEEP-ME"), files=files)
    assert response.status_code == 400 and "at most 150 megapixels" in response.get_data(as_text=True)
    assert decodes == []


def test_pictures_that_fit_are_cleaned_one_at_a_time(
    app: Flask, client: FlaskClient, blank_png: bytes, decodes: list[str]
) -> None:
    """Three of the review's pictures fit the default budget (119 of 150 megapixels) and are kept."""
    token = submit_ok(client, "feedback", files=[(blank_png, f"b{i}.png") for i in range(3)])
    assert decodes == ["PNG", "PNG", "PNG"]
    stored = stored_files(app, token)
    assert [Image.open(io.BytesIO(plain)).size for _, plain in stored] == [(WIDTH, HEIGHT)] * 3


def test_jpegs_over_the_budget_are_decoded_smaller(make_app: object) -> None:
    app = make_app(ATTACHMENT_MAX_MEGAPIXELS=2)  # type: ignore[operator]
    client = app.test_client()
    photos = [(image_bytes("JPEG", (1600, 1200)), "big.jpg"), (image_bytes("JPEG", (800, 600)), "small.jpg")]
    token = submit_ok(client, "corruption", files=photos)
    sizes = [Image.open(io.BytesIO(plain)).size for _, plain in stored_files(app, token)]
    assert sizes == [(800, 600), (800, 600)]  # the largest halved by the decoder: 0.96 MP in all


def test_pngs_over_the_budget_cannot_be_reduced_and_are_refused(make_app: object, decodes: list[str]) -> None:
    app = make_app(ATTACHMENT_MAX_MEGAPIXELS=1)  # type: ignore[operator]
    client = app.test_client()
    response = submit(client, "feedback", files=[(image_bytes("PNG", (1200, 1000)), "screen.png")])
    assert response.status_code == 400 and "1 ล้านพิกเซล" in response.get_data(as_text=True)
    assert decodes == []


def test_decoded_megapixels_count_against_the_senders_address(make_app: object) -> None:
    app = make_app(RATELIMIT_MEGAPIXELS="3 per hour")  # type: ignore[operator]
    client = app.test_client()
    photos = [(image_bytes("JPEG", (1000, 1000)), f"p{i}.jpg") for i in range(2)]  # 2 megapixels
    submit_ok(client, "corruption", files=photos)
    response = submit(client, "corruption", data=valid_data("corruption", "KEEP-ME"), files=photos)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "นาที" in page.split('id="attachments-error">')[1] and "KEEP-ME" in page
    assert case_count(app) == 1
    submit_ok(client, "corruption", files=[(b"text costs no pixels", "note.txt")])


def test_fit_halves_the_largest_jpeg_first_and_never_a_png() -> None:
    pictures = [images.Picture("jpeg", 4000, 3000), images.Picture("png", 2000, 1000),
                images.Picture("jpeg", 2000, 1500)]  # 12 + 2 + 3 megapixels
    total = images.fit(pictures, 6_000_000)
    assert [p.scale for p in pictures] == [4, 1, 1]  # 12 -> 3 (a tie with the other JPEG) -> 0.75
    assert total == 750_000 + 2_000_000 + 3_000_000
    with pytest.raises(Refused) as refused:
        images.fit([images.Picture("png", 4000, 3000)], 6_000_000)
    assert refused.value.reason == "pixels_total"
