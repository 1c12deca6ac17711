"""Finding 13, documents: evidence files that do not give their sender away (PDF, DOCX, XLSX, ODT).

Each file is planted with its sender's traces, sent through the citizen form, and the stored file is
decrypted and read back by readers other than the cleaners (exiftool, pypdf, zipfile, python-docx,
openpyxl, odfpy): no trace is left, the content is.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import docx
import openpyxl
import pikepdf
import pypdf
import pytest
from flask import Flask
from flask.testing import FlaskClient
from odf import teletype
from odf import text as odf_text
from odf.opendocument import load as load_odf
from PIL import Image

from intake.cleaning import office

from .citizen_helpers import (
    EXE_BYTES,
    case_count,
    stored_files,
    submit,
    submit_ok,
    valid_data,
)
from .cleaning_helpers import (
    docx_with_traces,
    exiftool,
    odt_with_traces,
    pdf_everything,
    pdf_with_traces,
    rezip,
    traces,
    xlsx_with_traces,
    zip_parts,
)

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def all_text(parts: dict[str, bytes]) -> str:
    return "\n".join(content.decode("utf-8", "replace") for content in parts.values())


def send(client: FlaskClient, app: Flask, data: bytes, name: str) -> tuple[dict[str, object], bytes]:
    token = submit_ok(client, "corruption", files=[(data, name)])
    ((meta, stored),) = stored_files(app, token)
    return meta, stored


def test_evidence_pdf_does_not_give_its_sender_away(app: Flask, client: FlaskClient, tmp_path: Path) -> None:
    planted = pdf_with_traces()
    assert traces(pdf_everything(planted)) and traces(json.dumps(exiftool(planted, tmp_path, "in.pdf")))
    meta, stored = send(client, app, planted, "รายงาน SENDER.pdf")
    assert meta["type"] == "application/pdf" and meta["name"] == "ไฟล์แนบ-1.pdf"

    reader = pypdf.PdfReader(io.BytesIO(stored))
    assert not reader.metadata and reader.xmp_metadata is None and reader.attachments == {}
    root: Any = reader.trailer["/Root"]
    assert "/OpenAction" not in root and "/Metadata" not in root
    assert "/JavaScript" not in root.get("/Names", {}) and "/EmbeddedFiles" not in root.get("/Names", {})
    everything = pdf_everything(stored)
    assert traces(everything) == [], traces(everything)
    assert "/JS" not in everything and "/EmbeddedFile" not in everything
    assert traces(json.dumps(exiftool(stored, tmp_path, "out.pdf"))) == []
    assert reader.trailer["/ID"] != pypdf.PdfReader(io.BytesIO(planted)).trailer.get("/ID")

    # The content stays: the page text, the comment itself, the same picture without its EXIF.
    assert "KEEP-PAGE-TEXT" in reader.pages[0].extract_text() and "KEEP-COMMENT" in everything
    (image,) = reader.pages[0].images
    assert b"Exif" not in image.data and Image.open(io.BytesIO(image.data)).size == (40, 30)


def test_evidence_docx_does_not_give_its_sender_away(app: Flask, client: FlaskClient, tmp_path: Path) -> None:
    planted = docx_with_traces()
    assert traces(all_text(zip_parts(planted))) and traces(json.dumps(exiftool(planted, tmp_path, "in.docx")))
    meta, stored = send(client, app, planted, "ร่าง-SENDER.docx")
    assert meta["type"] == DOCX_TYPE and meta["name"] == "ไฟล์แนบ-1.docx"

    parts = zip_parts(stored)
    assert traces(all_text(parts)) == [], traces(all_text(parts))
    assert traces(json.dumps(exiftool(stored, tmp_path, "out.docx"))) == []
    body = parts["word/document.xml"].decode()
    assert "w:rsid" not in body and "w:date=" not in body and 'w:author="Author"' in body
    assert "w:initials" not in parts["word/comments.xml"].decode()
    settings = parts["word/settings.xml"] + parts["word/_rels/settings.xml.rels"]
    assert b"attachedTemplate" not in settings
    with zipfile.ZipFile(io.BytesIO(stored)) as zf:
        assert {info.date_time for info in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}

    reopened = docx.Document(io.BytesIO(stored))  # still a Word file, with its text, changes and comment
    assert "KEEP-BODY-TEXT" in "\n".join(p.text for p in reopened.paragraphs)
    assert "KEEP-INSERTED" in body and "KEEP-DELETED" in body
    (comment,) = list(reopened.comments)
    assert comment.text == "KEEP-COMMENT-TEXT" and comment.author == "Author"
    assert reopened.core_properties.author == "" and reopened.core_properties.revision in (0, 1)
    (picture,) = [v for k, v in parts.items() if k.startswith("word/media/")]
    assert b"Exif" not in picture and Image.open(io.BytesIO(picture)).size == (40, 30)


def test_evidence_xlsx_does_not_give_its_sender_away(app: Flask, client: FlaskClient, tmp_path: Path) -> None:
    planted = xlsx_with_traces()
    assert traces(all_text(zip_parts(planted))) and traces(json.dumps(exiftool(planted, tmp_path, "in.xlsx")))
    meta, stored = send(client, app, planted, "งบ-SENDER.xlsx")
    assert meta["name"] == "ไฟล์แนบ-1.xlsx"

    parts = zip_parts(stored)
    assert traces(all_text(parts)) == [], traces(all_text(parts))
    assert traces(json.dumps(exiftool(stored, tmp_path, "out.xlsx"))) == []
    assert "absPath" not in parts["xl/workbook.xml"].decode()

    book = openpyxl.load_workbook(io.BytesIO(stored))
    sheet = book.active
    assert sheet is not None and sheet["A1"].value == "KEEP-CELL"
    note = sheet["A1"].comment
    assert note is not None and note.author == "Author" and "KEEP-NOTE-TEXT" in note.text
    assert note.text.startswith("Author:")  # the name Excel writes at the start of a note is gone too
    properties = book.properties
    assert not traces(repr(properties)) and not properties.lastModifiedBy and not properties.title


def test_evidence_odt_does_not_give_its_sender_away(app: Flask, client: FlaskClient, tmp_path: Path) -> None:
    planted = odt_with_traces()
    assert traces(all_text(zip_parts(planted))) and traces(json.dumps(exiftool(planted, tmp_path, "in.odt")))
    meta, stored = send(client, app, planted, "SENDER.odt")
    assert meta["type"] == "application/vnd.oasis.opendocument.text" and meta["name"] == "ไฟล์แนบ-1.odt"

    parts = zip_parts(stored)
    assert traces(all_text(parts)) == [], traces(all_text(parts))
    assert traces(json.dumps(exiftool(stored, tmp_path, "out.odt"))) == []
    assert "VersionList.xml" not in parts and not any(name.startswith("Versions/") for name in parts)
    with zipfile.ZipFile(io.BytesIO(stored)) as zf:
        first = zf.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED

    document = load_odf(io.BytesIO(stored))
    text = "\n".join(teletype.extractText(p) for p in document.getElementsByType(odf_text.P))
    assert "KEEP-BODY-TEXT" in text and "KEEP-INSERTED" in text and "KEEP-COMMENT-TEXT" in text
    assert "<dc:creator>Author</dc:creator>" in parts["content.xml"].decode()


def test_a_document_with_a_wrong_name_is_taken_for_what_it_is(app: Flask, client: FlaskClient) -> None:
    data = {**valid_data("feedback"), "keep_filename": "y"}
    token = submit_ok(client, "feedback", data=data, files=[(docx_with_traces(), "photo.jpg")])
    ((meta, stored),) = stored_files(app, token)
    assert meta["type"] == DOCX_TYPE and meta["name"] == "photo.docx"
    assert not traces(all_text(zip_parts(stored)))


def _zip(parts: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, content in parts.items():
            zf.writestr(name, content)
    return buf.getvalue()


def _encrypted_pdf() -> bytes:
    buf = io.BytesIO()
    pdf = pikepdf.open(io.BytesIO(pdf_with_traces()))
    pdf.save(buf, encryption=pikepdf.Encryption(user="secret", owner="secret"))
    return buf.getvalue()


ENTITY_BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">&b;</w:document>'
)
MACRO_TYPES = (
    b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Override PartName="/word/document.xml" '
    b'ContentType="application/vnd.ms-word.document.macroEnabled.main+xml"/>'
    b"</Types>"
)

REFUSED = [
    ("a program named as a Word file", EXE_BYTES, "report.docx", "ชนิดที่ไม่รับ"),
    ("a zip that is no document", _zip({"a.txt": b"x"}), "evidence.docx", "ชนิดที่ไม่รับ"),
    ("a Word file with macros", _zip({"[Content_Types].xml": MACRO_TYPES, "word/document.xml": b"<x/>"}),
     "macro.docx", "ชนิดที่ไม่รับ"),
    ("a damaged PDF", b"%PDF-1.7\n" + bytes(range(256)) * 8, "broken.pdf", "เสียหาย"),
    ("a damaged Word file", rezip(docx_with_traces(), {"word/document.xml": b"<w:document"}), "broken.docx",
     "เสียหาย"),
    ("a cut-short Word file", docx_with_traces()[:3000], "cut.docx", "เสียหาย"),
    ("an entity bomb", rezip(docx_with_traces(), {"word/document.xml": ENTITY_BOMB}), "bomb.docx", "เสียหาย"),
    ("a password-protected PDF", _encrypted_pdf(), "locked.pdf", "รหัสผ่าน"),
]  # fmt: skip


@pytest.mark.parametrize(("what", "content", "name", "reason"), REFUSED, ids=[r[0] for r in REFUSED])
def test_documents_that_cannot_be_cleaned_are_refused_plainly(
    app: Flask, client: FlaskClient, what: str, content: bytes, name: str, reason: str
) -> None:
    response = submit(client, "corruption", data=valid_data("corruption", "KEEP-ME"), files=[(content, name)])
    assert response.status_code == 400, what
    page = response.get_data(as_text=True)
    error = page.split('id="attachments-error">')[1].split("</p>")[0]
    assert name in error and reason in error, error
    assert "KEEP-ME" in page and case_count(app) == 0


def test_a_zip_bomb_in_a_document_is_refused(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(office, "MAX_UNPACKED", 1024 * 1024)
    bomb = rezip(docx_with_traces(), {"word/media/zeros.bin": b"\x00" * (2 * 1024 * 1024)})
    response = submit(client, "feedback", files=[(bomb, "big.docx")])
    assert response.status_code == 400 and "เสียหาย" in response.get_data(as_text=True)


def test_refused_document_in_english(client: FlaskClient) -> None:
    client.set_cookie("lang", "en")
    response = submit(client, "feedback", files=[(_encrypted_pdf(), "locked.pdf")])
    assert response.status_code == 400 and "protected by a password" in response.get_data(as_text=True)
