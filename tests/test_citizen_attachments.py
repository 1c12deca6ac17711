"""Files sent with citizen forms: type by content, limits, metadata removed, errors beside the field.

Every test runs on both storages (`file:` and SeaweedFS `s3:`)."""

from __future__ import annotations

import io

import pypdf
import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from intake import db, settings

from .citizen_helpers import (
    EXE_BYTES,
    MINIMAL_PDF,
    case_count,
    followup,
    image_bytes,
    jpeg_with_gps,
    png_claiming,
    stored_files,
    submit,
    submit_ok,
    token_of,
    track,
    valid_data,
)
from .conftest import on_both_stores

pytestmark = on_both_stores


def attachment_error(response: object) -> str:
    page = response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert 'id="attachments-error"' in page, "no error beside the attachments field"
    return page.split('id="attachments-error">')[1].split("</p>")[0]


def test_jpeg_with_gps_is_stored_without_exif(app: Flask, client: FlaskClient) -> None:
    token = submit_ok(client, "corruption", files=[(jpeg_with_gps("MarkerCam"), "IMG_0001.JPG")])
    ((meta, plain),) = stored_files(app, token)
    assert meta["type"] == "image/jpeg" and meta["name"] == "ไฟล์แนบ-1.jpg"  # a neutral name by default
    image = Image.open(io.BytesIO(plain))
    assert image.size == (40, 30)
    assert not image.getexif() and image.getexif().get_ifd(0x8825) == {}
    assert b"Exif" not in plain and b"MarkerCam" not in plain
    assert "exif" not in image.info


def keeping_names(channel: str) -> dict[str, object]:
    return {**valid_data(channel), "keep_filename": "y"}


def test_accepted_types_by_content(app: Flask, client: FlaskClient) -> None:
    files = [
        (image_bytes("PNG"), "map.png"),
        (image_bytes("WEBP"), "photo.webp"),
        (MINIMAL_PDF, "contract.pdf"),
        ("บันทึกเหตุการณ์\nline two".encode(), "notes.txt"),
        (image_bytes("PNG"), "looks-like.pdf"),  # a PNG by content, whatever its name says
    ]
    token = submit_ok(client, "feedback", data=keeping_names("feedback"), files=files)
    stored = stored_files(app, token)
    assert [(m["name"], m["type"]) for m, _ in stored] == [
        ("map.png", "image/png"),
        ("photo.webp", "image/webp"),
        ("contract.pdf", "application/pdf"),
        ("notes.txt", "text/plain; charset=utf-8"),
        ("looks-like.png", "image/png"),
    ]
    # The PDF is written anew without its metadata (tests/test_cleaning_documents.py): one page still.
    assert len(pypdf.PdfReader(io.BytesIO(stored[2][1])).pages) == 1
    assert stored[3][1] == "บันทึกเหตุการณ์\nline two".encode()
    page = track(client, token).get_data(as_text=True)
    assert "contract.pdf" in page and "map.png" in page


def test_thai_file_names_survive(app: Flask, client: FlaskClient) -> None:
    token = submit_ok(client, "corruption", data=keeping_names("corruption"),
                      files=[(b"text", "หลักฐาน การเงิน.txt")])
    ((meta, _),) = stored_files(app, token)
    assert meta["name"] == "หลักฐาน การเงิน.txt"


@pytest.mark.parametrize(
    ("content", "name", "reason"),
    [
        (EXE_BYTES, "photo.jpg", "ชนิดที่ไม่รับ"),  # a program renamed as a photo
        (EXE_BYTES, "setup.exe", "ชนิดที่ไม่รับ"),
        (b"\xff\xd8\xff\xe0" + b"\x00garbage" * 50, "broken.jpg", "อ่านไฟล์"),  # JPEG magic, no picture
        (png_claiming(20_000, 20_000), "bomb.png", "พิกเซล"),  # 400 megapixels claimed
        (b"", "empty.txt", "ว่างเปล่า"),
    ],
)
def test_refused_files_get_an_error_beside_the_field(
    app: Flask, client: FlaskClient, content: bytes, name: str, reason: str
) -> None:
    data = valid_data("corruption", "KEEP-ME")
    response = submit(client, "corruption", data=data, files=[(b"fine", "ok.txt"), (content, name)])
    assert response.status_code == 400
    error = attachment_error(response)
    assert name in error and reason in error
    assert "KEEP-ME" in response.get_data(as_text=True)  # the text is kept
    assert case_count(app) == 0


def test_html_renamed_pdf_is_never_a_pdf(app: Flask, client: FlaskClient) -> None:
    """HTML is UTF-8 text: it is kept only as plain text, under a .txt name, never as the PDF it claims."""
    html = b"<html><body><script>alert(1)</script></body></html>"
    token = submit_ok(client, "corruption", data=keeping_names("corruption"), files=[(html, "invoice.pdf")])
    ((meta, plain),) = stored_files(app, token)
    assert meta["type"] == "text/plain; charset=utf-8" and meta["name"] == "invoice.txt"
    assert plain == html


def test_refused_file_in_english(client: FlaskClient) -> None:
    client.set_cookie("lang", "en")
    response = submit(client, "feedback", files=[(EXE_BYTES, "virus.jpg")])
    error = attachment_error(response)
    assert "virus.jpg" in error and "JPEG, PNG, WebP" in error and "PDF" in error


def test_file_over_the_per_file_limit(make_app: object) -> None:
    app = make_app(ATTACHMENT_MAX_FILE=1000, ATTACHMENT_MAX_TOTAL=3000)  # type: ignore[operator]
    client = app.test_client()
    response = submit(client, "corruption", files=[(b"a" * 1001, "big.txt")])
    assert response.status_code == 400
    error = attachment_error(response)
    assert "big.txt" in error and "ใหญ่เกินไป" in error
    assert submit(client, "corruption", files=[(b"a" * 1000, "fits.txt")]).status_code == 200


def test_files_over_the_total_limit(make_app: object) -> None:
    app = make_app(ATTACHMENT_MAX_FILE=1000, ATTACHMENT_MAX_TOTAL=2500)  # type: ignore[operator]
    client = app.test_client()
    files = [(b"a" * 900, f"part{i}.txt") for i in range(3)]
    response = submit(client, "feedback", files=files)
    assert response.status_code == 400 and "รวมกัน" in attachment_error(response)
    assert case_count(app) == 0


def test_too_many_files(make_app: object) -> None:
    app = make_app(ATTACHMENT_MAX_FILES=2)  # type: ignore[operator]
    client = app.test_client()
    files = [(b"text", f"n{i}.txt") for i in range(3)]
    response = submit(client, "corruption", files=files)
    assert response.status_code == 400 and "ไม่เกิน 2 ไฟล์" in attachment_error(response)
    assert submit(client, "corruption", files=files[:2]).status_code == 200


def test_limit_set_by_an_administrator_wins(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        settings.put(db.session(), "attachment_max_file", "100")
        db.session().commit()
    response = submit(client, "feedback", files=[(b"a" * 101, "a.txt")])
    assert response.status_code == 400 and "a.txt" in attachment_error(response)


def test_no_file_chosen_is_fine(client: FlaskClient) -> None:
    # Browsers send an empty part with an empty file name when no file is chosen.
    response = submit(client, "feedback", files=[(b"", "")])
    assert response.status_code == 200 and token_of(response)


def test_followup_file_refused_keeps_the_message(app: Flask, client: FlaskClient) -> None:
    token = submit_ok(client, "feedback")
    response = followup(client, token, "ข้อความ KEEP-FOLLOWUP", files=[(EXE_BYTES, "x.png")])
    assert response.status_code == 400
    assert "x.png" in attachment_error(response)
    assert "KEEP-FOLLOWUP" in response.get_data(as_text=True)
    assert stored_files(app, token) == []


def test_files_get_neutral_names_unless_the_citizen_keeps_them(app: Flask, client: FlaskClient) -> None:
    files = [(jpeg_with_gps(), "IMG_somchai.jpg"), (MINIMAL_PDF, "ร้องเรียน-วิชัย.pdf"), (b"note", "me.txt")]
    token = submit_ok(client, "corruption", files=files)
    names = [m["name"] for m, _ in stored_files(app, token)]
    assert names == ["ไฟล์แนบ-1.jpg", "ไฟล์แนบ-2.pdf", "ไฟล์แนบ-3.txt"]
    page = track(client, token).get_data(as_text=True)
    assert "ไฟล์แนบ-2.pdf" in page and "วิชัย" not in page and "somchai" not in page
    response = followup(client, token, "more", files=[(b"x", "kept-name.txt")])
    assert response.status_code == 200 and "ไฟล์แนบ-1.txt" in response.get_data(as_text=True)
    kept = followup(client, token, "more", files=[(b"x", "kept-name.txt")], extra={"keep_filename": "y"})
    assert kept.status_code == 200 and "kept-name.txt" in kept.get_data(as_text=True)


def test_the_forms_say_what_is_removed_and_offer_to_keep_names_unticked(client: FlaskClient) -> None:
    token = submit_ok(client, "feedback")
    pages = [client.get("/report/corruption"), client.get("/report/feedback"), track(client, token)]
    for response in pages:
        page = response.get_data(as_text=True)
        assert 'name="keep_filename"' in page and "checked" not in page.split('name="keep_filename"')[1][:40]
        assert 'id="what-is-removed"' in page and "ผู้แก้ไขล่าสุด" in page and "GPS" in page
    assert 'name="keep_filename"' not in client.get("/ask").get_data(as_text=True)  # no files there
    client.set_cookie("lang", "en")
    page = client.get("/report/feedback").get_data(as_text=True)
    assert "What is removed from your files" in page and "tracked changes" in page
    assert "Keep the names of my files" in page


def test_keep_the_names_survives_an_error_on_the_form(client: FlaskClient) -> None:
    data = {**valid_data("corruption"), "details": "", "keep_filename": "y"}
    page = submit(client, "corruption", data=data).get_data(as_text=True)
    before, after = page.split('name="keep_filename"')
    assert "checked" in before[-80:] + after[:40]
