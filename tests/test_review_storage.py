"""Security review: what storage keeps of the officers' side, what photos keep, and what goes on the record.

- Property 1 for what officers write: replies, internal and public status notes, referral references,
  offline intake text and contact, the TOTP secret, private keys and session keys are nowhere in a database
  dump, the instance folder or keys/.
- Property 4 for photos: a JPEG comment (COM) and a PNG colour profile (iCCP) are metadata too.
- Property 7: a case page shown again after a refused action (decrypted content) is a case view on the record.
"""

from __future__ import annotations

import base64
import io
import secrets
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select

from intake import attachments, dates, keyring
from intake.models import AuditEntry
from intake.officer import signin

from .conftest import ADMIN, PASSWORD
from .officer_helpers import OfficerActions, officer_named, world
from .test_security_properties import assert_nowhere, database_dump, token_forms

RECENT = (dates.local_date(dates.now()) - timedelta(days=3)).isoformat()


def test_stolen_storage_reveals_nothing_officers_wrote_nor_their_secrets(
    app: Flask, client: FlaskClient
) -> None:
    marker = "OFF" + secrets.token_hex(6)
    with world(app) as (s, factory):
        case_id = factory.case("corruption", "citizen text").case.id
        s.commit()
    actions = OfficerActions(client)
    actions.login(ADMIN, PASSWORD)
    base = form = f"/officer/cases/{case_id}"
    assert actions.post(f"{base}/reply", {"message": f"reply {marker}"}, form).status_code == 303
    assert actions.post(f"{base}/note", {"note": f"note {marker}"}, form).status_code == 303
    for public in ("", "y"):
        data = {"status": "in_progress", "note": f"status {public} {marker}", "public": public}
        assert actions.post(f"{base}/status", data, form).status_code == 303
    refer = {"agency": "nacc", "reference": f"REF{marker}", "referred_on": RECENT, "note": f"why {marker}"}
    assert actions.post(f"{base}/refer", refer, form).status_code == 303
    intake = {
        "channel": "corruption",
        "source": "letter",
        "received_at": RECENT,
        "details": f"letter {marker}",
        "contact": f"phone {marker}",
    }
    receipt = actions.post("/officer/intake", intake, follow_redirects=True)  # 303 to the slip
    assert receipt.status_code == 200
    token = receipt.get_data(as_text=True).split('id="case-token"', 1)[1].split(">", 1)[1].split("<", 1)[0]
    with client.session_transaction() as cookie:
        session_key = base64.urlsafe_b64decode(cookie["officer_key"])
    with world(app) as (s, _f):
        admin = officer_named(s, ADMIN)
        private = keyring.unlock(admin, PASSWORD)
        totp = signin.totp_secret_of(admin, private)
    secrets_bytes = [private, session_key, totp]
    needles = [marker, base64.b32encode(totp).decode().rstrip("="), *token_forms(token.strip())]
    assert_nowhere(app, needles)
    dump = database_dump(app)
    for secret in secrets_bytes:
        assert secret not in dump and secret.hex().encode() not in dump


def _metadata_survives(data: bytes, *needles: bytes) -> list[bytes]:
    clean = attachments.inspect(io.BytesIO(data), "photo", 10_000_000)
    try:
        out = clean.data.read()
    finally:
        clean.data.close()
    found = [n for n in needles if n in out]
    with Image.open(io.BytesIO(out)) as img:
        found += [key.encode() for key in ("comment", "icc_profile", "exif", "xmp") if img.info.get(key)]
    return found


def test_jpeg_comment_is_removed() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), "red").save(buf, "JPEG", comment=b"Somchai's phone, Moo 3")
    assert _metadata_survives(buf.getvalue(), b"Somchai") == []


def test_png_and_webp_colour_profiles_are_removed() -> None:
    profile = b"\x00" * 128 + b"desc Somchai's calibrated screen"
    for kind in ("PNG", "WEBP"):
        buf = io.BytesIO()
        Image.new("RGB", (16, 16), "red").save(buf, kind, icc_profile=profile)
        assert _metadata_survives(buf.getvalue(), b"Somchai") == [], kind


def test_transparency_survives_metadata_removal() -> None:
    buf = io.BytesIO()
    Image.new("RGBA", (4, 4), (255, 0, 0, 0)).save(buf, "PNG")
    clean = attachments.inspect(io.BytesIO(buf.getvalue()), "t.png", 10_000_000)
    try:
        with Image.open(clean.data) as img:
            assert img.mode == "RGBA" and img.getpixel((0, 0))[3] == 0
    finally:
        clean.data.close()


def test_case_page_shown_after_a_refused_action_is_a_case_view_on_the_record(
    app: Flask, client: FlaskClient
) -> None:
    with world(app) as (s, factory):
        case_id = factory.case("feedback", "secret text of the citizen").case.id
        s.commit()
    actions = OfficerActions(client)
    actions.login(ADMIN, PASSWORD)
    refused = actions.post(f"/officer/cases/{case_id}/reply", {"message": ""}, f"/officer/cases/{case_id}")
    assert refused.status_code == 400
    assert "secret text of the citizen" in refused.get_data(as_text=True)
    with world(app) as (s, _f):
        views = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "case.view", AuditEntry.target == str(case_id))
        ).all()
    assert len(views) == 2  # the GET for the form, then the page shown again with the error
