"""Request-level protections: uploads spooled encrypted, client addresses kept out of the log."""

from __future__ import annotations

import io
import logging

import pytest
from flask import Flask

from intake import crypto
from intake.security import MEMORY_SPOOL, NoClientAddress, UploadRequest


def test_large_uploads_spool_to_an_encrypted_file(app: Flask) -> None:
    with app.test_request_context("/", method="POST"):
        req = UploadRequest.from_values()
        small = req._get_file_stream(MEMORY_SPOOL, "text/plain")
        big = req._get_file_stream(MEMORY_SPOOL + 1, "text/plain")
        unknown = req._get_file_stream(None, "text/plain")
    assert isinstance(small, io.BytesIO)
    assert isinstance(big, io.BufferedRandom)
    assert isinstance(big.raw, crypto.EphemeralFile)
    assert isinstance(unknown.raw, crypto.EphemeralFile)  # type: ignore[attr-defined]
    big.write(b"MARKER" * 1000)
    big.flush()
    disk = big.raw._file
    disk.seek(0)
    assert b"MARKER" not in disk.read()


def test_app_uses_the_upload_request(app: Flask) -> None:
    assert app.request_class is UploadRequest


@pytest.mark.parametrize(
    "line",
    [
        '203.0.113.9 - - [26/Nov/2026 10:00:00] "GET / HTTP/1.1" 200 -',
        '::1 - - [26/Nov/2026 10:00:00] "POST /report/corruption HTTP/1.1" 200 -',
    ],
)
def test_werkzeug_request_lines_lose_the_address(line: str) -> None:
    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, line, None, None)
    NoClientAddress().filter(record)
    assert record.getMessage().startswith("- - - ")
    assert "203.0.113.9" not in record.getMessage()
    assert "::1" not in record.getMessage()
