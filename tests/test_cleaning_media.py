"""Finding 13, audio and video: phone recordings (MP4, M4A, 3GP, MOV) lose GPS and tags, keep their sound
and picture bit for bit; files ffmpeg cannot read, or takes too long over, are refused plainly.

Fixtures come from ffmpeg's lavfi test sources with GPS, title, artist and more planted; the stored file
is decrypted and read back with exiftool and ffprobe.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from intake.cleaning import kinds, media

from .citizen_helpers import case_count, stored_files, submit, submit_ok, valid_data
from .cleaning_helpers import exiftool, ffprobe, media_with_traces, packets_md5, traces

FORMAT_TAGS = {"major_brand", "minor_version", "compatible_brands"}
STREAM_TAGS = {"language", "handler_name", "vendor_id"}
STREAMS = {"mp4": ("0:v", "0:a"), "m4a": ("0:a",), "3gp": ("0:v", "0:a"), "mov": ("0:v", "0:a")}


@pytest.mark.parametrize("kind", ["mp4", "m4a", "3gp", "mov"])
def test_evidence_audio_and_video_do_not_give_their_sender_away(
    app: Flask, client: FlaskClient, tmp_path: Path, kind: str
) -> None:
    planted = media_with_traces(kind, tmp_path)
    before = exiftool(planted, tmp_path, f"in.{kind}")
    assert traces(json.dumps(before)) and any("GPS" in key for key in before), "the plant must be there"

    token = submit_ok(client, "corruption", files=[(planted, f"VID_SENDER_0001.{kind}")])
    ((meta, stored),) = stored_files(app, token)
    assert meta["type"] == kinds.KINDS[kind].media_type
    assert meta["name"] == f"ไฟล์แนบ-1{kinds.KINDS[kind].extension}"

    after = exiftool(stored, tmp_path, f"out.{kind}")
    assert traces(json.dumps(after)) == [], after
    assert not any("GPS" in key or "Location" in key for key in after)
    assert {v for k, v in after.items() if k.endswith("CreateDate")} <= {"0000:00:00 00:00:00"}
    probe = ffprobe(stored, tmp_path, f"out.{kind}")
    assert set(probe["format"].get("tags", {})) <= FORMAT_TAGS, probe["format"]
    assert probe["chapters"] == []
    for stream in probe["streams"]:
        assert stream["codec_type"] in ("video", "audio"), stream  # no subtitles, data tracks
        assert not stream["disposition"].get("attached_pic"), stream  # no cover picture
        assert set(stream.get("tags", {})) <= STREAM_TAGS, stream
    for selector in STREAMS[kind]:  # sound and picture copied as they were, not re-encoded
        assert packets_md5(stored, tmp_path, f"out.{kind}", selector) == packets_md5(
            planted, tmp_path, f"in.{kind}", selector
        )


def test_a_damaged_recording_is_refused(app: Flask, client: FlaskClient) -> None:
    damaged = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(range(256)) * 20
    response = submit(client, "corruption", data=valid_data("corruption", "KEEP-ME"),
                      files=[(damaged, "VID_0002.mp4")])
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "VID_0002.mp4" in page and "เสียหาย" in page and "KEEP-ME" in page
    assert case_count(app) == 0


def test_a_recording_that_takes_ffmpeg_too_long_is_refused(make_app: object, tmp_path: Path) -> None:
    """ATTACHMENT_TOOL_TIMEOUT bounds each ffmpeg run: here so short that any recording is over it."""
    app = make_app(ATTACHMENT_TOOL_TIMEOUT=0.001)  # type: ignore[operator]
    client = app.test_client()
    response = submit(client, "feedback", data=valid_data("feedback", "KEEP-ME"),
                      files=[(media_with_traces("mp4", tmp_path), "long.mp4")])
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "long.mp4" in page and "นานเกินไป" in page and "KEEP-ME" in page
    client.set_cookie("lang", "en")
    response = submit(client, "feedback", files=[(media_with_traces("m4a", tmp_path), "long.m4a")])
    assert response.status_code == 400 and "took too long" in response.get_data(as_text=True)


def test_without_ffmpeg_recordings_are_refused_plainly(
    app: Flask, client: FlaskClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(media, "command", lambda kind: ["ffmpeg-not-installed-here", "{input}", "{output}"])
    response = submit(client, "feedback", files=[(media_with_traces("3gp", tmp_path), "clip.3gp")])
    assert response.status_code == 400 and "clip.3gp" in response.get_data(as_text=True)
    assert "ไม่ได้" in response.get_data(as_text=True).split('id="attachments-error">')[1]


def test_a_program_named_as_a_video_is_refused(app: Flask, client: FlaskClient) -> None:
    response = submit(client, "feedback", files=[(b"MZ\x90\x00" + b"\x00" * 500, "movie.mp4")])
    assert response.status_code == 400 and "ชนิดที่ไม่รับ" in response.get_data(as_text=True)
