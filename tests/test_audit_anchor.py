"""Issue 9 finding 7: the audit anchor mailed to the administrators (real SMTP server), once per anchor, and
typed back with `audit verify --anchor-hash … --anchor-count …` to show a shortened trail."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import delete, func, select, update

from intake import anchors, audit, dates
from intake.models import AuditCheckpoint, AuditEntry, Role

from .mailbox import Mailbox, assert_no_content
from .notify_helpers import admin_with_mail, officer_with_mail, outbox, run
from .officer_helpers import world
from .test_tenants_walls import add_tenant_b, tenant_world

COMMAND = re.compile(r"--anchor-hash ([0-9a-f]{64}) --anchor-count (\d+)")
WHOLE_COMMAND = re.compile(r"audit verify (--tenant \S+ --anchor-hash [0-9a-f]{64} --anchor-count \d+)")


def _fill(app: Flask, n: int = 4) -> list[int]:
    with world(app) as (s, _f):
        ids = [audit.record(s, "tester", "case.view", i).seq for i in range(n)]
        s.commit()
        return ids


def _verify(app: Flask, *args: str) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["audit", "verify", *args])
    return result.exit_code, result.output


def _people(app: Flask) -> None:
    """The administrator made by setup, with an address; a second one without; a feedback officer with."""
    with world(app) as (_s, factory):
        admin_with_mail(factory)
        factory.officer("admin2", role=Role.ADMIN)
        officer_with_mail(factory, "pr", ("feedback",))


def _tail(app: Flask) -> audit.Tail:
    with world(app) as (s, _f):
        kept = audit.tail(s)
        assert kept is not None
        return kept


def test_finding_07_an_intact_verification_mails_the_anchor_to_each_administrator_with_an_address(
    make_app: Any, mailbox: Mailbox
) -> None:
    app = make_app(**mailbox.config())
    _people(app)
    ids = _fill(app)
    code, out = _verify(app)
    assert code == 0 and "anchor mailed to 1 administrators" in out
    kept = _tail(app)
    assert kept.entry_id == ids[-1]
    (notice,) = outbox(app)  # the administrator without an address, and the officer, get none
    assert notice.kind == anchors.KIND and notice.dedupe_key and kept.hash in notice.dedupe_key
    assert run(app).mails == 1
    (mail,) = mailbox.received
    assert mail.to == "admin@example.go.th"
    text = mail.parts()["text/plain"]
    assert mail.message["Subject"].startswith("หลักยึดของบันทึกการตรวจสอบ")
    assert "Audit trail anchor" in mail.message["Subject"]
    thai, english = text.index("โปรดเก็บอีเมลนี้ไว้"), text.index("Keep this mail")
    assert thai < english  # Thai first, then English
    assert f"--anchor-hash {kept.hash} --anchor-count {kept.count}" in text
    assert f"จำนวนรายการในบันทึก: {kept.count}" in text and f"Last entry: {kept.entry_id}" in text
    assert f"ค่าแฮชของรายการล่าสุด: {kept.hash}" in text
    assert anchors.be_date(dates.now()) in text and str(dates.be_year(dates.local_date(dates.now()))) in text
    assert kept.hash in mail.parts()["text/html"]

    assert _verify(app)[0] == 0  # the same anchor again: told already
    assert len(outbox(app)) == 1 and run(app).mails == 0
    _fill(app, 1)
    assert _verify(app)[0] == 0  # a new anchor: told once more
    assert run(app).mails == 1 and len(mailbox.received) == 2


def test_finding_07_the_mailed_anchor_shows_a_shortened_trail(make_app: Any, mailbox: Mailbox) -> None:
    """The database editor removes the newest entries, every checkpoint and (with keys/) the anchor file,
    so a plain verification passes; the anchor typed from the mail does not."""
    app = make_app(**mailbox.config())
    _people(app)
    ids = _fill(app, 5)
    assert _verify(app)[0] == 0
    run(app)
    (mail,) = mailbox.received
    found = COMMAND.search(mail.parts()["text/plain"])
    assert found is not None
    typed = ["--anchor-hash", found.group(1), "--anchor-count", found.group(2)]

    code, out = _verify(app, *typed)
    assert code == 0 and "intact" in out  # the untouched chain holds it
    _fill(app, 2)
    assert _verify(app, *typed)[0] == 0  # and still does as it grows
    assert _verify(app, "--anchor-hash", found.group(1).upper(), "--anchor-count", found.group(2))[0] == 0

    with world(app) as (s, _f):
        s.execute(delete(AuditEntry).where(AuditEntry.seq >= ids[-2]))
        s.execute(delete(AuditCheckpoint))
        s.commit()
    (Path(app.config["KEYS_DIR"]) / audit.ANCHOR_FILE).unlink()
    assert _verify(app)[0] == 0  # nothing left inside the database or keys/ sees it ...
    code, out = _verify(app, *typed)
    assert code != 0 and "shortened or altered" in out and f"({anchors.TYPED_MISSING})" in out  # ... the mail

    with world(app) as (s, _f):
        latest = audit.latest_checkpoint(s)
        assert latest is not None and latest.broken_reason == anchors.TYPED_MISSING


def test_finding_07_an_anchor_typed_elsewhere_or_malformed_is_refused(
    make_app: Any, mailbox: Mailbox
) -> None:
    app = make_app(**mailbox.config())
    _fill(app, 3)
    assert _verify(app)[0] == 0
    kept = _tail(app)
    code, out = _verify(app, "--anchor-hash", kept.hash, "--anchor-count", str(kept.count + 1))
    assert code != 0 and f"({anchors.TYPED_PLACE})" in out
    for wrong in (["--anchor-hash", "abc", "--anchor-count", "3"], ["--anchor-hash", kept.hash]):
        code, out = _verify(app, *wrong)
        assert code != 0 and "--anchor-hash takes the 64 hex digits" in out


def _digest_time(days: int = 0, hour: int = 9) -> datetime:
    """`hour` o'clock Bangkok, `days` from today (the digest hour is 8 by default)."""
    day = dates.local_date(dates.now()) + timedelta(days=days)
    return datetime.combine(day, time(hour), dates.BANGKOK)


def _checkpoints(app: Flask) -> int:
    with world(app) as (s, _f):
        return int(s.scalar(select(func.count()).select_from(AuditCheckpoint)) or 0)


def test_the_worker_verifies_once_a_day_and_mails_a_new_anchor(make_app: Any, mailbox: Mailbox) -> None:
    app = make_app(**mailbox.config(NOTIFY_AUDIT_DAILY=True))
    _people(app)
    _fill(app)
    assert run(app, _digest_time(hour=7)).mails == 0 and _checkpoints(app) == 0  # before the digest hour
    assert run(app, _digest_time()).mails == 1 and _checkpoints(app) == 1
    (mail,) = mailbox.received
    assert mail.to == "admin@example.go.th" and _tail(app).hash in mail.parts()["text/plain"]
    assert run(app, _digest_time(hour=10)).mails == 0 and _checkpoints(app) == 1  # once a day
    assert run(app, _digest_time(days=1)).mails == 0 and _checkpoints(app) == 2  # verified; same anchor
    with world(app) as (s, _f):
        latest = audit.latest_checkpoint(s)
        assert latest is not None and latest.broken_entry_id is None
    _fill(app, 1)
    assert run(app, _digest_time(days=2)).mails == 1 and _checkpoints(app) == 3
    assert _tail(app).hash in mailbox.received[-1].parts()["text/plain"]


def test_the_worker_does_not_verify_when_told_not_to(make_app: Any, mailbox: Mailbox) -> None:
    app = make_app(**mailbox.config())  # the tests' default: NOTIFY_AUDIT_DAILY false
    _people(app)
    _fill(app)
    assert run(app, _digest_time()).mails == 0 and _checkpoints(app) == 0


def test_each_tenant_mails_its_own_anchor_and_the_command_names_the_tenant(
    make_app: Any, mailbox: Mailbox
) -> None:
    app = make_app(**mailbox.config())
    add_tenant_b(app)
    with tenant_world(app, None) as (_s, factory):
        admin_with_mail(factory)
    with tenant_world(app, "b") as (_s, factory):
        admin_with_mail(factory, "admin-b@example.go.th")
    code, out = _verify(app, "--all-tenants")
    assert code == 0, out
    run(app)
    commands = {}
    for mail in mailbox.received:
        found = WHOLE_COMMAND.search(mail.parts()["text/plain"])
        assert found is not None
        commands[mail.to] = found.group(1).split()
    assert commands["admin-b@example.go.th"][:2] == ["--tenant", "b"]
    assert commands["admin@example.go.th"][:2] == ["--tenant", "default"]
    for typed in commands.values():
        assert _verify(app, *typed)[0] == 0
    a_hash = commands["admin@example.go.th"][2:]
    assert _verify(app, "--tenant", "b", *a_hash)[0] != 0  # one tenant's anchor is not in another's chain
    for mail in mailbox.received:  # each tenant's mail links to its own sign-in page (checked, then cleared)
        own = "https://b.example.go.th" if mail.to == "admin-b@example.go.th" else "https://report.example.go.th"
        assert_no_content([mail], login_url=f"{own}/officer/login")
    mailbox.clear()


def test_the_worker_tells_administrators_once_a_day_when_the_trail_does_not_verify(
    make_app: Any, mailbox: Mailbox
) -> None:
    app = make_app(**mailbox.config(NOTIFY_AUDIT_DAILY=True))
    _people(app)
    ids = _fill(app)
    with world(app) as (s, _f):
        s.execute(update(AuditEntry).where(AuditEntry.seq == ids[1]).values(detail="innocent"))
        s.commit()
    assert run(app, _digest_time()).mails == 1
    (mail,) = mailbox.received
    text = mail.parts()["text/plain"]
    assert mail.to == "admin@example.go.th" and mail.message["Subject"].startswith("บันทึกการตรวจสอบ")
    assert f"รายการแรกที่ไม่ถูกต้อง: {ids[1]}" in text and "Reason: hash" in text
    assert "--anchor-hash" not in text  # no anchor for a broken trail
    assert run(app, _digest_time(hour=11)).mails == 0  # once a day
    assert run(app, _digest_time(days=1)).mails == 1  # and again the next day, while it lasts
    assert {n.kind for n in outbox(app)} == {anchors.BROKEN_KIND}
