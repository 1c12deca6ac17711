"""Hostile input: arbitrary bytes in every citizen form and the token parser never give a 500; crafted files,
bombs, huge bodies and header injection are all answered cleanly (bounded: a few hundred requests)."""

from __future__ import annotations

import io
import struct
import urllib.parse
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from intake import attachments, db, tokens
from intake.forms import clean_text
from intake.models import Attachment, Case

from .conftest import MakeApp, csrf_token, store_of
from .factories import PNG_1PX
from .servers import Server, env_for, http_status, raw_request, start_gunicorn

FORMS = {
    "/report/corruption": ["details", "category", "when_where", "involved", "contact", "website"],
    "/report/feedback": ["details", "service", "rating", "contact", "website"],
    "/ask": ["details", "publish_ok", "contact", "website"],
    "/track": ["token"],
    "/track/followup": ["token", "message", "website"],
}
CLEAN = {200, 303, 400, 404, 409, 413}  # 303: a form that filed its case goes on to its receipt
HYPO = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

field_values = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.sampled_from(
        [b"", b"\x00", b"\xff\xfe", b"../../etc/passwd", b"A" * 30_000, b"\r\nX-Evil: 1", b"5", b"6"]
    ),
)


@pytest.fixture
def hostile(make_app: MakeApp) -> Flask:
    # Every request comes from one address: limits high enough never to answer 429 here.
    return make_app(
        RATELIMIT_SUBMIT="100000 per minute", RATELIMIT_TRACK_FAILURES="100000 per minute",
        RATELIMIT_TRACK_CEILING="100000 per minute", RATELIMIT_TRACK_PREFIX="100000 per minute",
    )


def _csrf(client: FlaskClient, path: str) -> str:
    return csrf_token(client, "/track" if path == "/track/followup" else path)


def _post_raw(client: FlaskClient, path: str, csrf: str, values: dict[str, bytes]) -> int:
    body = "&".join(
        [f"csrf_token={urllib.parse.quote(csrf)}"]
        + [f"{urllib.parse.quote(k)}={urllib.parse.quote_from_bytes(v)}" for k, v in values.items()]
    )
    response = client.post(path, data=body, content_type="application/x-www-form-urlencoded")
    response.close()
    return response.status_code


@pytest.mark.parametrize("path", sorted(FORMS))
def test_arbitrary_bytes_in_every_field_never_give_a_500(hostile: Flask, path: str) -> None:
    client = hostile.test_client()
    csrf = _csrf(client, path)

    @HYPO
    @given(st.fixed_dictionaries({}, optional={name: field_values for name in FORMS[path]}))
    def check(values: dict[str, bytes]) -> None:
        assert _post_raw(client, path, csrf, values) in CLEAN

    check()


@HYPO
@given(st.text(max_size=200))
def test_token_parser_accepts_or_refuses_by_name(typed: str) -> None:
    try:
        normal = tokens.normalise(typed)
    except tokens.TokenMalformed:
        return
    assert len(normal) == tokens.LENGTH and set(normal) <= set(tokens.ALPHABET)
    assert tokens.normalise(tokens.display(normal)) == normal


@HYPO
@given(st.text(alphabet=tokens.ALPHABET + "oOiIlL -.", min_size=15, max_size=40))
def test_token_like_text_on_the_tracking_page_is_404_or_found(hostile: Flask, typed: str) -> None:
    client = hostile.test_client()
    response = client.post("/track", data={"csrf_token": csrf_token(client, "/track"), "token": typed})
    assert response.status_code in (200, 404, 400)
    if response.status_code == 404:  # what was typed stays in the field, and only there (issue 11)
        page = response.get_data(as_text=True)
        kept = clean_text(typed)  # as every form keeps text: no control characters, no outer spaces
        assert f'value="{kept}"' in page and page.count(kept) == 1


# --- crafted files -----------------------------------------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_declaring(width: int, height: int) -> bytes:
    """A small PNG whose header claims width x height pixels: a decompression bomb to a naive decoder."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 1024, 9)) + _png_chunk(b"IEND", b"")
    )


def zip_bomb() -> bytes:
    """20 MB of zeros deflated to a few kilobytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.txt", b"\x00" * (20 * 1024 * 1024))
    return buf.getvalue()


BAD_FILES = [
    ("bomb.pdf", zip_bomb(), "application/pdf"),
    ("archive.zip", zip_bomb(), "application/zip"),
    ("photo.png", png_declaring(100_000, 100_000), "image/png"),
    ("photo.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 200, "image/jpeg"),
    ("doc.pdf", b"MZ\x90\x00" + b"\x00" * 200, "application/pdf"),
    ("anim.png", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;" + b"\x00" * 50, "image/png"),
    ("page.txt", b"<script>alert(1)</script>\x00" + b"\xff" * 10, "text/plain"),
]


def _files_and_cases(app: Flask) -> tuple[int, int, int]:
    with app.app_context():
        session = db.session()
        count = session.scalar(select(func.count()).select_from(Case)) or 0
        rows = session.scalar(select(func.count()).select_from(Attachment)) or 0
    return count, rows, len(list(store_of(app).list_objects()))


@pytest.mark.parametrize(("name", "data", "media_type"), BAD_FILES, ids=[f[0] for f in BAD_FILES])
def test_bad_files_are_refused_beside_the_field_and_nothing_is_stored(
    hostile: Flask, name: str, data: bytes, media_type: str
) -> None:
    client = hostile.test_client()
    before = _files_and_cases(hostile)
    response = client.post(
        "/report/feedback",
        data={
            "csrf_token": csrf_token(client, "/report/feedback"),
            "details": "a comment with a bad file",
            "attachments": [(io.BytesIO(data), name, media_type)],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="case-token"' not in page
    assert "a comment with a bad file" in page  # what was typed is kept
    assert _files_and_cases(hostile) == before


@pytest.mark.parametrize(
    "name",
    ["../../../../etc/passwd", "..\\..\\windows\\system32\\x.png", "/abs/path.png", "x" * 5000 + ".png",
     "bad\r\nname.png", "nul\x00byte.png", "\u202egnp.exe", ""],
)
def test_hostile_file_names_are_tamed(hostile: Flask, name: str) -> None:
    client = hostile.test_client()
    response = client.post(
        "/report/feedback",
        data={
            "csrf_token": csrf_token(client, "/report/feedback"),
            "details": "named file",
            "attachments": [(io.BytesIO(PNG_1PX), name, "image/png")],
        },
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert response.status_code in (200, 400)
    folder = Path(hostile.config["INSTANCE_DIR"])
    assert not (folder.parent / "etc").exists()
    for info in store_of(hostile).list_objects():
        assert len(info.name) == 32 and all(c in "0123456789abcdef" for c in info.name)
    if response.status_code == 200 and name:
        shown = attachments.safe_name(name, "png")
        assert "/" not in shown and "\\" not in shown and "\r" not in shown and "\x00" not in shown
        assert len(shown) <= 124


# --- transport-level abuse against the real server ---------------------------------------------------


@pytest.fixture
def server(make_app: Any, tmp_path: Path) -> Iterator[Server]:
    app = make_app()
    srv = start_gunicorn(env_for(app.config, RATELIMIT_ENABLED=False), tmp_path / "gunicorn.log", workers=2)
    yield srv
    srv.stop()


def _raw_post(server: Server, path: str, headers: str, body: bytes = b"") -> bytes:
    request = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nConnection: close\r\n{headers}\r\n"
    ).encode() + body
    return raw_request(server.port, request)


def test_huge_body_gets_the_413_page_without_being_read(server: Server) -> None:
    answer = _raw_post(
        server,
        "/report/feedback",
        "Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 300000000\r\n",
    )
    assert http_status(answer) == 413
    assert b"<html" in answer.lower() and b"Content-Security-Policy" in answer


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Test: a\rb\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Test: a\nInjected: 1\r\n\r\n",
        b"GET /\r\nSet-Cookie: a=b HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
        b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(200)) + b"\r\n",
    ],
    ids=["bare-cr", "bare-lf", "crlf-in-target", "te-and-cl", "long-line", "many-headers"],
)
def test_malformed_requests_are_refused_cleanly(server: Server, request_bytes: bytes) -> None:
    answer = raw_request(server.port, request_bytes)
    assert answer == b"" or http_status(answer) in (400, 404, 414, 431)
    assert b"Injected" not in answer and b"Set-Cookie: a=b" not in answer
    # The workers survive it.
    again = raw_request(server.port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert http_status(again) == 200


@pytest.mark.parametrize(
    "target",
    ["/%0d%0aSet-Cookie:%20evil=1", "//evil.example/", "https://evil.example/", "/track%0aX-Evil:%201",
     "/\\evil.example"],
)
def test_language_switch_cannot_inject_headers_or_leave_the_site(hostile: Flask, target: str) -> None:
    client = hostile.test_client()
    response = client.get(f"/lang/en?next={target}", headers={"Host": "evil.example"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"  # back home, never elsewhere
    assert "evil=1" not in response.headers.get("Set-Cookie", "")
