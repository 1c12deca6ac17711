"""Case domain: submit, find by token, key hierarchy walls, officer handling, follow-ups."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from intake import attachments, cases, crypto, key_contexts, keyring
from intake.models import Case, Channel, Status

from .conftest import PASSWORD, store_of
from .factories import PNG_1PX, Factory


def test_submit_and_find_by_token(factory: Factory, session: Session) -> None:
    sub = factory.case(Channel.CORRUPTION, "เงินหาย", category="bribery", contact="081-234-5678")
    found = cases.find_by_token(session, sub.token.lower().replace("-", " "))
    assert found.case.id == sub.case.id
    timeline = cases.citizen_timeline(session, found)
    assert timeline[0].kind == "received" and timeline[0].data["details"] == "เงินหาย"


def test_wrong_and_malformed_tokens_are_the_same_failure(factory: Factory, session: Session) -> None:
    factory.case()
    for typed in ("AAAAA-AAAAA-AAAAA-AAAAA", "nonsense"):
        with pytest.raises(cases.TokenNotFound):
            cases.find_by_token(session, typed)


def test_citizen_key_does_not_open_contact(factory: Factory, session: Session) -> None:
    sub = factory.case(contact="secret contact")
    found = cases.find_by_token(session, sub.token)
    contact_entry = next(e for e in found.case.entries if e.kind == "contact")
    with pytest.raises(cases.ChannelForbidden):
        cases.decrypt_entry(contact_entry, found.keys)


def test_officer_without_channel_cannot_decrypt(factory: Factory, session: Session) -> None:
    sub = factory.case(Channel.CORRUPTION, "ทุจริต")
    pr = factory.officer("pr", channels=("feedback",))
    pr_private = keyring.unlock(pr, "officer password 1")
    with pytest.raises(cases.ChannelForbidden):
        cases.officer_keys(session, pr, pr_private, sub.case)
    # Even calling the crypto layer directly with every row: pr's grant for feedback is not the key.
    grant = pr.grants[0]
    channel_aad = key_contexts.channel_key("feedback")
    feedback_private = crypto.unseal(pr_private, grant.sealed_private_key, channel_aad)
    aad = key_contexts.case_keys(sub.case.id)
    with pytest.raises(crypto.CryptoError):
        crypto.unseal(feedback_private, sub.case.sealed_for_channel, aad)


def test_officer_handles_case_and_citizen_sees_reply_not_note(factory: Factory, session: Session) -> None:
    sub = factory.case(Channel.QUESTION, "ถามเรื่องภาษี", contact="a@b.c")
    admin = factory.admin()
    keys = cases.officer_keys(session, admin, keyring.unlock(admin, PASSWORD), sub.case)
    view = cases.officer_view(session, sub.case, keys)
    assert view.submission["details"] == "ถามเรื่องภาษี" and view.contact == "a@b.c"
    cases.acknowledge(session, sub.case, admin, keys)
    cases.reply(session, sub.case, admin, keys, "คำตอบ")
    cases.add_note(session, sub.case, admin, keys, "internal only")
    cases.change_status(session, sub.case, admin, keys, Status.RESOLVED, "done", public=True)
    session.commit()
    found = cases.find_by_token(session, sub.token)
    texts = [item.text for item in cases.citizen_timeline(session, found)]
    assert "คำตอบ" in texts and "done" in texts and "internal only" not in texts
    assert found.case.status == "resolved" and found.case.closed_at is not None
    with pytest.raises(cases.CaseClosed):
        cases.add_followup(session, found, "more", [], store_of(factory.app))


def test_attachment_roundtrip_and_name_encrypted(factory: Factory, session: Session) -> None:
    sub = factory.case(files=[(b"hello evidence", "my-secret-name.txt"), (PNG_1PX, "photo.png")])
    found = cases.find_by_token(session, sub.token)
    att = found.case.attachments[0]
    assert b"my-secret-name" not in att.meta
    meta = attachments.read_meta(att, found.keys.content)
    assert meta["name"] == "my-secret-name.txt"
    data = attachments.read_all(attachments.open_plain(store_of(factory.app), att, found.keys.content))
    assert data == b"hello evidence"


def test_revoked_grant_cannot_decrypt(factory: Factory, session: Session) -> None:
    sub = factory.case(Channel.FEEDBACK)
    pr = factory.officer("pr2", channels=("feedback",))
    private = keyring.unlock(pr, "officer password 1")
    cases.officer_keys(session, pr, private, sub.case)
    keyring.revoke(session, pr, "feedback")
    session.commit()
    with pytest.raises(cases.ChannelForbidden):
        cases.officer_keys(session, pr, private, session.get(Case, sub.case.id))  # type: ignore[arg-type]
