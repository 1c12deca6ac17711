"""The crest: uploaded on the settings page, checked as an image by content, re-encoded, kept in the
database (no file on an app server's disk), shown on every page of the PDF."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select

from intake import crest
from intake.models import SiteImage
from intake.reports import exports, periods

from .conftest import ADMIN, PASSWORD
from .officer_helpers import OfficerActions, audit_actions, world

SETTINGS = "/officer/admin/settings"
UPLOAD = "/officer/admin/settings/crest"


def picture(fmt: str = "PNG", size: tuple[int, int] = (300, 300), **save: object) -> bytes:
    image = Image.new("RGBA" if fmt in ("PNG", "WEBP", "GIF") else "RGB", size, (30, 60, 140, 255))
    for x in range(size[0] // 4, 3 * size[0] // 4):
        for y in range(size[1] // 4, 3 * size[1] // 4):
            image.putpixel((x, y), (200, 150, 20, 255) if image.mode == "RGBA" else (200, 150, 20))
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


def jpeg_with_exif() -> bytes:
    """A landscape JPEG marked 'rotate 90°', with a camera model and a GPS-ish comment in its metadata."""
    image = Image.new("RGB", (400, 200), (30, 60, 140))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to view
    exif[0x0110] = "SecretCam 3000"  # model
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), comment=b"taken at 13.7563N 100.5018E")
    return out.getvalue()


@pytest.fixture
def admin(client: FlaskClient) -> OfficerActions:
    actions = OfficerActions(client)
    actions.login(ADMIN, PASSWORD)
    return actions


def upload(admin: OfficerActions, data: bytes, name: str = "crest.png") -> tuple[int, str]:
    response = admin.post(UPLOAD, {"crest": (io.BytesIO(data), name)}, form_url=SETTINGS)
    return response.status_code, response.get_data(as_text=True)


def stored(app: Flask) -> SiteImage | None:
    with world(app) as (session, _f):
        row = session.scalar(select(SiteImage))
        if row is not None:
            session.expunge(row)
        return row


def test_prepare_re_encodes_every_accepted_format() -> None:
    for data in (picture("PNG"), picture("JPEG"), picture("GIF"), picture("WEBP"), jpeg_with_exif()):
        made = crest.prepare(data)
        assert made.png.startswith(b"\x89PNG\r\n\x1a\n") and made.png != data
        with Image.open(io.BytesIO(made.png)) as image:
            assert image.format == "PNG" and image.mode == "RGBA"
    upright = crest.prepare(jpeg_with_exif())
    assert (upright.width, upright.height) == (200, 400)  # turned as its EXIF said
    assert b"SecretCam" not in upright.png and b"13.7563" not in upright.png  # metadata gone
    big = crest.prepare(picture("PNG", (3000, 1500)))
    assert (big.width, big.height) == (crest.MAX_SIDE, crest.MAX_SIDE // 2)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "image"),
        (b"%PDF-1.7 not a picture", "image"),
        (picture("PNG")[:60], "image"),  # cut short
        (picture("BMP"), "type"),
        (picture("TIFF"), "type"),
        (b"\x89PNG" + b"\0" * (crest.MAX_BYTES), "size"),
    ],
)
def test_prepare_refuses_what_is_not_a_picture(data: bytes, reason: str) -> None:
    with pytest.raises(crest.CrestInvalid) as caught:
        crest.prepare(data)
    assert caught.value.reason == reason


def test_prepare_refuses_a_decompression_bomb() -> None:
    """A tiny file that claims 50,000 × 50,000 pixels is refused before it is decoded."""
    bomb = io.BytesIO()
    Image.new("1", (50_000, 50_000)).save(bomb, "PNG")
    assert len(bomb.getvalue()) < 1024 * 1024
    with pytest.raises(crest.CrestInvalid) as caught:
        crest.prepare(bomb.getvalue())
    assert caught.value.reason in ("pixels", "image")


def test_admin_uploads_a_crest_and_every_pdf_page_shows_it(
    app: Flask, client: FlaskClient, admin: OfficerActions
) -> None:
    page = client.get(SETTINGS).get_data(as_text=True)
    assert 'id="crest-none"' in page and 'enctype="multipart/form-data"' in page
    status, _body = upload(admin, jpeg_with_exif(), "ตรา.jpg")
    assert status == 303
    row = stored(app)
    assert row is not None and row.media_type == "image/png" and (row.width, row.height) == (200, 400)
    # In the database only: no file under the instance folder holds it.
    instance = Path(app.config["INSTANCE_DIR"])
    assert not [p for p in instance.rglob("*") if p.is_file() and row.data[:64] in p.read_bytes()]
    page = client.get(SETTINGS).get_data(as_text=True)
    assert 'id="crest-preview"' in page and "บันทึกตราสัญลักษณ์แล้ว" in page
    image = client.get(f"{SETTINGS}/crest.png")
    assert image.status_code == 200 and image.mimetype == "image/png" and image.data == row.data
    entries = audit_actions(app, "settings.crest")
    assert [(e.actor, e.detail.split(" ")[0]) for e in entries] == [(ADMIN, "200x400")]
    with world(app) as (session, _f):
        pdf = exports.render(session, periods.period(2569, "q1"), "pdf").data
    listing = subprocess.run(["pdfimages", "-list", "-"], input=pdf, capture_output=True, check=True)
    pages = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    count = int(next(line.split()[-1] for line in pages.splitlines() if line.startswith("Pages:")))
    shown = {int(line.split()[0]) for line in listing.stdout.decode().splitlines()[2:] if line.strip()}
    assert shown == set(range(1, count + 1))  # the letterhead, then the running header on each page


def test_a_bad_upload_says_why_and_keeps_the_old_crest(
    app: Flask, client: FlaskClient, admin: OfficerActions
) -> None:
    assert upload(admin, picture("PNG"))[0] == 303
    before = stored(app)
    status, body = upload(admin, b"GIF89a but not really", "ตรา.gif")
    assert status == 400
    assert "อ่านไฟล์นี้เป็นรูปภาพไม่ได้" in body and 'class="error"' in body
    status, body = upload(admin, picture("BMP"), "crest.bmp")
    assert status == 400 and "PNG, JPEG, GIF หรือ WebP" in body
    status, body = upload(admin, b"", "empty.png")
    assert status == 400 and "เลือกไฟล์รูปภาพ" in body
    after = stored(app)
    assert before is not None and after is not None and after.digest == before.digest
    assert len(audit_actions(app, "settings.crest")) == 1


def test_admin_removes_the_crest(app: Flask, client: FlaskClient, admin: OfficerActions) -> None:
    assert upload(admin, picture("PNG"))[0] == 303
    response = admin.post(f"{SETTINGS}/crest/remove", {}, form_url=SETTINGS)
    assert response.status_code == 303 and stored(app) is None
    page = client.get(SETTINGS).get_data(as_text=True)
    assert "ลบตราสัญลักษณ์แล้ว" in page and 'id="crest-none"' in page
    assert client.get(f"{SETTINGS}/crest.png").status_code == 404
    assert [e.detail for e in audit_actions(app, "settings.crest")][-1] == "removed"
    with world(app) as (session, _f):
        pdf = exports.render(session, periods.period(2569, "q1"), "pdf").data
    listing = subprocess.run(["pdfimages", "-list", "-"], input=pdf, capture_output=True, check=True)
    assert len(listing.stdout.decode().splitlines()) == 2  # the header lines only: no image


def test_only_an_administrator_touches_the_crest(app: Flask, client: FlaskClient) -> None:
    assert client.post(UPLOAD, data={}).status_code in (302, 400)  # no session: sign-in or no CSRF
    assert client.get(f"{SETTINGS}/crest.png").status_code == 302
    with world(app) as (_s, factory):
        factory.officer("pr", "officer password 1", channels=("feedback",))
    officer = OfficerActions(client)
    officer.login("pr", "officer password 1")
    refused = officer.post(UPLOAD, {"crest": (io.BytesIO(picture()), "c.png")}, form_url="/officer/queue")
    assert refused.status_code == 403
    assert stored(app) is None
