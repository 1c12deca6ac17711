"""The case page and its actions: decrypted view, escaping, replies vs internal notes, attachments, audit."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from intake import cases, keyring
from intake.filenames import content_disposition
from intake.models import AuditEntry, Case, Channel

from .conftest import ADMIN, PASSWORD, store_of
from .factories import PNG_1PX
from .officer_helpers import OfficerActions, audit_actions, world

PR = ("pr", "officer password 1")


def _signed_in_pr(app: Flask, client: FlaskClient) -> OfficerActions:
    with world(app) as (_s, factory):
        factory.officer(PR[0], PR[1], channels=("feedback", "question"))
    actions = OfficerActions(client)
    actions.login(*PR)
    return actions


def _case(app: Flask, channel: str = "feedback", details: str = "รายละเอียด", **kw: object) -> tuple[int, str]:
    with world(app) as (_s, factory):
        sub = factory.case(channel, details, **kw)  # type: ignore[arg-type]
        return sub.case.id, sub.token


def test_case_page_shows_decrypted_content_and_is_audited(app: Flask, client: FlaskClient) -> None:
    case_id, _token = _case(app, details="ถนนหน้าบ้านมีหลุม", contact="081-111-2222")
    _signed_in_pr(app, client)
    page = client.get(f"/officer/cases/{case_id}").get_data(as_text=True)
    assert "ถนนหน้าบ้านมีหลุม" in page and "081-111-2222" in page
    views = audit_actions(app, "case.view")
    assert [(e.actor, e.target) for e in views] == [("pr", str(case_id))]


def test_citizen_html_is_escaped(app: Flask, client: FlaskClient) -> None:
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)><b>bold</b>'
    case_id, _token = _case(app, details=evil, contact="<i>me</i>")
    _signed_in_pr(app, client)
    page = client.get(f"/officer/cases/{case_id}").get_data(as_text=True)
    assert "<script>alert" not in page and "<img src=x" not in page and "<b>bold</b>" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page and "&lt;i&gt;me&lt;/i&gt;" in page


def test_reply_reaches_citizen_note_does_not(app: Flask, client: FlaskClient) -> None:
    case_id, token = _case(app, "question", "ภาษีป้ายเท่าไร")
    actions = _signed_in_pr(app, client)
    url = f"/officer/cases/{case_id}"
    assert actions.post(f"{url}/acknowledge", {}, form_url=url).status_code == 303
    assert actions.post(f"{url}/reply", {"message": "ตอบ: 200 บาท"}, form_url=url).status_code == 303
    assert actions.post(f"{url}/note", {"note": "ลับ: ตรวจสอบแล้ว"}, form_url=url).status_code == 303
    hidden = {"status": "in_progress", "note": "internal status note"}
    assert actions.post(f"{url}/status", hidden, form_url=url).status_code == 303
    shown = {"status": "resolved", "note": "public status note", "public": "y"}
    assert actions.post(f"{url}/status", shown, form_url=url).status_code == 303
    with world(app) as (s, _f):
        found = cases.find_by_token(s, token)
        texts = [item.text for item in cases.citizen_timeline(s, found)]
        assert "ตอบ: 200 บาท" in texts and "public status note" in texts
        assert "ลับ: ตรวจสอบแล้ว" not in texts and "internal status note" not in texts
        assert found.case.status == "resolved"
    page = client.get(url).get_data(as_text=True)
    assert "ลับ: ตรวจสอบแล้ว" in page and "Internal" in page or "ภายใน" in page
    actions_done = {e.action for e in audit_actions(app, "case.reply") + audit_actions(app, "case.note")}
    assert actions_done == {"case.reply", "case.note"}
    statuses = audit_actions(app, "case.status")
    assert [e.detail for e in statuses] == [
        "status=in_progress; note=internal",
        "status=resolved; note=public",
    ]
    # No content in the audit trail: it is plaintext.
    with world(app) as (s, _f):
        everything = " ".join(e.detail + (e.target or "") for e in s.query(AuditEntry))
        assert "200 บาท" not in everything and "ตรวจสอบ" not in everything


def test_closed_case_stays_readable_and_can_be_reopened(app: Flask, client: FlaskClient) -> None:
    case_id, _token = _case(app)
    actions = _signed_in_pr(app, client)
    url = f"/officer/cases/{case_id}"
    actions.post(f"{url}/status", {"status": "dismissed"}, form_url=url)
    page = client.get(url)
    assert page.status_code == 200 and 'id="reply-form"' not in page.get_data(as_text=True)
    refused = actions.post(f"{url}/reply", {"message": "late"}, form_url=url)
    assert refused.status_code == 400
    assert actions.post(f"{url}/status", {"status": "in_progress"}, form_url=url).status_code == 303
    assert 'id="reply-form"' in client.get(url).get_data(as_text=True)


def test_assign_only_to_holders_of_the_channel(app: Flask, client: FlaskClient) -> None:
    case_id, _token = _case(app)
    with world(app) as (_s, factory):
        colleague = factory.officer("pr2", channels=("feedback",)).id
        legal = factory.officer("legal", channels=("corruption",)).id
    actions = _signed_in_pr(app, client)
    url = f"/officer/cases/{case_id}"
    assert actions.post(f"{url}/assign", {"officer": str(legal)}, form_url=url).status_code == 400
    assert actions.post(f"{url}/assign", {"officer": str(colleague)}, form_url=url).status_code == 303
    with world(app) as (s, _f):
        assert s.get(Case, case_id).assignee_id == colleague  # type: ignore[union-attr]
    assert [e.detail for e in audit_actions(app, "case.assign")] == ["assignee=pr2"]


def test_refer_to_an_agency(app: Flask, client: FlaskClient) -> None:
    case_id, _token = _case(app)
    actions = _signed_in_pr(app, client)
    url = f"/officer/cases/{case_id}"
    data = {"agency": "damrongdhama", "reference": "ศด 123/2569", "referred_on": "2025-01-15"}
    assert actions.post(f"{url}/refer", data, form_url=url).status_code == 303
    with world(app) as (s, _f):
        case = s.get(Case, case_id)
        assert case is not None and case.status == "referred" and case.referred_to == "damrongdhama"
    assert "ศด 123/2569" in client.get(url).get_data(as_text=True)
    future = {**data, "referred_on": "2999-01-01"}
    assert actions.post(f"{url}/refer", future, form_url=url).status_code == 400


def test_attachment_download_is_an_attachment_never_inline(app: Flask, client: FlaskClient) -> None:
    case_id, _token = _case(app, files=[(b"<html><script>x</script>", "รูป หลักฐาน.txt"), (PNG_1PX, "p.png")])
    _signed_in_pr(app, client)
    page = client.get(f"/officer/cases/{case_id}").get_data(as_text=True)
    links = re.findall(rf'href="(/officer/cases/{case_id}/attachments/\d+)"', page)
    assert len(links) == 2
    response = client.get(links[0])
    assert response.status_code == 200
    assert response.data == b"<html><script>x</script>"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "filename*=UTF-8''" in disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.mimetype == "application/octet-stream"
    assert [e.detail.startswith("attachment=") for e in audit_actions(app, "attachment.download")] == [True]
    assert client.get(f"/officer/cases/{case_id}/attachments/999999").status_code == 404


def test_content_disposition_fallback_is_ascii() -> None:
    header = content_disposition('ใบเสร็จ "x"\r\n.pdf')
    ascii_part = header.split(";")[1]
    assert ascii_part.isascii() and "\r" not in header and "\n" not in header and '"x"' not in ascii_part
    assert ".pdf" in ascii_part
    assert content_disposition("report.pdf").startswith('attachment; filename="report.pdf"')


def test_publish_answer_with_consent_and_unpublish(app: Flask, client: FlaskClient) -> None:
    case_id, _token = _case(app, "question", "ผมชื่อสมชาย ถามว่าเก็บขยะวันไหน", publish_ok=True)
    refused_id, _t = _case(app, "question", "ไม่ยินยอม", publish_ok=False)
    actions = _signed_in_pr(app, client)
    url = f"/officer/cases/{case_id}"
    assert 'id="publish-form"' in client.get(url).get_data(as_text=True)
    assert 'id="publish-form"' not in client.get(f"/officer/cases/{refused_id}").get_data(as_text=True)
    data = {"question": "เก็บขยะวันไหน", "answer": "ทุกวันอังคาร <b>และ</b> ศุกร์", "confirm": "y"}
    assert actions.post(f"{url}/publish", data, form_url=url).status_code == 303
    refused_url = f"/officer/cases/{refused_id}"
    assert actions.post(f"{refused_url}/publish", data, form_url=refused_url).status_code == 400
    faq = client.get("/faq").get_data(as_text=True)
    assert "เก็บขยะวันไหน" in faq and "สมชาย" not in faq and "&lt;b&gt;และ&lt;/b&gt;" in faq
    assert '<html lang="th">' in faq
    answer_id = re.search(r'id="answer-(\d+)"', faq).group(1)  # type: ignore[union-attr]
    assert actions.post(f"/officer/answers/{answer_id}/unpublish", {}, form_url=url).status_code == 303
    assert "เก็บขยะวันไหน" not in client.get("/faq").get_data(as_text=True)
    assert len(audit_actions(app, "answer.publish")) == 1 and len(audit_actions(app, "answer.unpublish")) == 1


def test_offline_case_unlocks_with_token_like_a_web_case(app: Flask) -> None:
    case_id, token = _case(app, Channel.CORRUPTION.value, "x")
    with world(app) as (s, factory):
        admin = factory.legal()
        keys = cases.officer_keys(s, admin, keyring.unlock(admin, PASSWORD), s.get(Case, case_id))  # type: ignore[arg-type]
        assert keys.internal is not None
        assert cases.find_by_token(s, token).case.id == case_id
    assert ADMIN == "admin"


def _flip(blob: bytes) -> bytes:
    return blob[:-1] + bytes([blob[-1] ^ 1])


def test_finding_11_tampered_bytes_show_cannot_be_decrypted_and_are_audited(
    app: Flask, client: FlaskClient
) -> None:
    """Issue 9, finding 11: one altered byte in an entry, the contact, a file's name or its content, or the
    case's sealed keys: a named "cannot be decrypted" in its place, on the record, never a 500."""

    from sqlalchemy import select

    from intake.models import AuditEntry, EntryKind

    case_id, _token = _case(app, details="THE-DETAILS", contact="THE-CONTACT",
                            files=[(PNG_1PX, "a.png"), (b"plain text file", "b.txt")])
    other_id, _ = _case(app, details="OTHER")
    with world(app) as (s, _f):
        case = s.get(Case, case_id)
        assert case is not None
        contact = next(e for e in case.entries if e.kind == EntryKind.CONTACT)
        contact.body = _flip(contact.body or b"")
        first, second = case.attachments
        first.meta = _flip(first.meta)
        store = store_of(app)
        with store.open(second.stored_name) as fh:
            raw = fh.read()
        store.put(second.stored_name, [raw[:40] + bytes([raw[40] ^ 1]) + raw[41:]])
        other = s.get(Case, other_id)
        assert other is not None
        other.sealed_for_channel = _flip(other.sealed_for_channel)
        s.commit()
        first_id, second_id = first.id, second.id
    _signed_in_pr(app, client)
    page = client.get(f"/officer/cases/{case_id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "THE-DETAILS" in text and "THE-CONTACT" not in text
    assert "ไม่สามารถถอดรหัสรายการนี้ได้" in text and "ไฟล์ที่ไม่สามารถถอดรหัสได้" in text
    download = client.get(f"/officer/cases/{case_id}/attachments/{second_id}")
    assert download.status_code == 200 and "ไม่สามารถถอดรหัสไฟล์นี้ได้" in download.get_data(as_text=True)
    damaged_case = client.get(f"/officer/cases/{other_id}")
    assert damaged_case.status_code == 200 and "OTHER" not in damaged_case.get_data(as_text=True)
    assert "ไม่สามารถถอดรหัสเรื่องนี้ได้" in damaged_case.get_data(as_text=True)
    with world(app) as (s, _f):
        recorded = {
            (e.actor, e.target, e.detail)
            for e in s.scalars(select(AuditEntry).where(AuditEntry.action == "case.undecryptable"))
        }
    assert recorded == {
        ("pr", str(case_id), "contact"),
        ("pr", str(case_id), f"attachment={first_id}"),
        ("pr", str(case_id), f"attachment={second_id}"),
        ("pr", str(other_id), "case keys"),
    }
