"""The audit trail: every officer action on the record, the hash chain, altered or deleted entries detected
(also the last ones, by the checkpoints), the CLI and the admin page."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Executable, delete, func, select, update

from intake import audit
from intake.answers import publishing
from intake.models import AuditCheckpoint, AuditEntry, Case, Role

from .conftest import ADMIN, PASSWORD
from .factories import PNG_1PX
from .officer_helpers import RECENT, OfficerActions, world
from .servers import env_for

SECRET = "WRITTEN-BY-SOMEONE"


def _fill(app: Flask, n: int = 5) -> list[int]:
    with world(app) as (s, _f):
        ids = [audit.record(s, "tester", "case.view", i).id for i in range(n)]
        s.commit()
        return ids


def _verify_cli(app: Flask, *args: str) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["audit", "verify", *args])
    return result.exit_code, result.output


def test_intact_chain_verifies(app: Flask) -> None:
    _fill(app)
    with world(app) as (s, _f):
        assert audit.verify(s) is None and audit.verify_and_record(s) is None
    code, out = _verify_cli(app)
    assert code == 0 and "intact" in out


def _verify_after(app: Flask, change: Executable) -> audit.ChainBreak | None:
    """The chain verified after `change`, made behind the app's back (an editor of the database)."""
    with world(app) as (s, _f):
        s.execute(change)
        s.commit()
        return audit.verify(s)


def test_altered_entry_is_detected(app: Flask) -> None:
    ids = _fill(app)
    broken = _verify_after(app, update(AuditEntry).where(AuditEntry.id == ids[2]).values(detail="innocent"))
    assert broken is not None and broken.entry_id == ids[2] and broken.reason == "hash"
    code, out = _verify_cli(app)
    assert code != 0 and f"entry {ids[2]}" in out


def test_altered_actor_with_recomputed_plain_hash_is_still_detected(app: Flask) -> None:
    ids = _fill(app)
    with world(app) as (s, _f):
        # Whoever writes to the database cannot recompute the keyed hash (its key lives in keys/).
        row = s.get(AuditEntry, ids[1])
        assert row is not None
        row.actor = "someone else"
        row.hash = hashlib.sha256(row.actor.encode()).hexdigest()
        s.commit()
        broken = audit.verify(s)
        assert broken is not None and broken.entry_id == ids[1]


def test_deleted_middle_entry_is_detected(app: Flask) -> None:
    ids = _fill(app)
    broken = _verify_after(app, delete(AuditEntry).where(AuditEntry.id == ids[2]))
    assert broken is not None and broken.entry_id == ids[3] and broken.reason == "link"
    code, out = _verify_cli(app)
    assert code != 0 and f"entry {ids[3]}" in out


def test_deleted_last_entry_is_detected_by_the_checkpoint(app: Flask) -> None:
    ids = _fill(app)
    code, out = _verify_cli(app)  # records a checkpoint (the newest entry), tagged under the audit key
    assert code == 0 and f"tail {ids[-1]}:" in out
    with world(app) as (s, _f):
        s.execute(delete(AuditEntry).where(AuditEntry.id == ids[-1]))
        s.commit()
        assert audit.verify(s) is None  # the chain alone cannot see it ...
    code, out = _verify_cli(app)
    assert code != 0 and f"entry {ids[-1]} (missing)" in out  # ... the checkpoint does


def test_expect_option_checks_a_tail_kept_elsewhere(app: Flask) -> None:
    ids = _fill(app)
    code, out = _verify_cli(app)
    kept = out.strip().rsplit("tail ", 1)[1]
    assert kept.startswith(f"{ids[-1]}:")
    with world(app) as (s, _f):
        s.execute(delete(AuditEntry).where(AuditEntry.id == ids[-1]))
        s.commit()
    with world(app) as (s, _f):
        s.execute(delete(AuditCheckpoint))  # checkpoints can go too: the tail kept elsewhere still holds
        s.commit()
    code, out = _verify_cli(app, "--expect", kept)
    assert code != 0 and "missing" in out
    assert _verify_cli(app, "--expect", "nonsense")[0] != 0


def test_checkpoint_moves_forward(app: Flask) -> None:
    _fill(app, 2)
    assert _verify_cli(app)[0] == 0
    more = _fill(app, 2)
    assert _verify_cli(app)[0] == 0
    with world(app) as (s, _f):
        point = audit.last_checkpoint(s)
        assert point is not None and point.entry_id == more[-1]


def test_admin_page_shows_verification_and_filters(app: Flask, client: FlaskClient) -> None:
    OfficerActions(client).login(ADMIN, PASSWORD)
    ids = _fill(app, 3)
    page = client.get("/officer/admin/audit").get_data(as_text=True)
    assert 'data-intact="true"' in page and "login.success" in page and "case.view" in page
    filtered = client.get("/officer/admin/audit?action=login").get_data(as_text=True)
    assert "login.success" in filtered and "<code>case.view</code>" not in filtered
    by_actor = client.get("/officer/admin/audit?actor=tester").get_data(as_text=True)
    assert "<code>login.success</code>" not in by_actor and by_actor.count("<code>case.view</code>") == 3
    with world(app) as (s, _f):
        s.execute(update(AuditEntry).where(AuditEntry.id == ids[0]).values(target="999"))
        s.commit()
    broken = client.get("/officer/admin/audit").get_data(as_text=True)
    assert 'data-intact="false"' in broken and str(ids[0]) in broken


def test_sign_in_failure_is_recorded_even_though_the_request_fails(app: Flask, client: FlaskClient) -> None:
    OfficerActions(client).post("/officer/login", {"username": ADMIN, "password": "wrong wrong"})
    with world(app) as (s, _f):
        rows = list(s.scalars(select(AuditEntry).where(AuditEntry.action == "login.failure")))
        assert len(rows) == 1 and audit.verify(s) is None


def _checkpoints(app: Flask) -> int:
    with world(app) as (s, _f):
        return int(s.scalar(select(func.count()).select_from(AuditCheckpoint)) or 0)


def test_admin_page_shows_the_last_verification_and_writes_none(app: Flask, client: FlaskClient) -> None:
    OfficerActions(client).login(ADMIN, PASSWORD)
    ids = _fill(app, 3)
    assert 'data-result="none"' in client.get("/officer/admin/audit").get_data(as_text=True)
    assert _verify_cli(app)[0] == 0
    page = client.get("/officer/admin/audit").get_data(as_text=True)
    assert 'data-result="intact"' in page and 'data-intact="true"' in page
    with world(app) as (s, _f):
        s.execute(update(AuditEntry).where(AuditEntry.id == ids[1]).values(detail="innocent"))
        s.commit()
    before = _checkpoints(app)
    page = client.get("/officer/admin/audit").get_data(as_text=True)
    assert 'data-result="intact"' in page  # the last verification's result, as it was recorded ...
    assert 'data-intact="false"' in page and str(ids[1]) in page  # ... and what is shown, checked now
    assert _checkpoints(app) == before  # the page verifies without writing
    assert _verify_cli(app)[0] != 0
    page = client.get("/officer/admin/audit").get_data(as_text=True)
    last = page.split('id="audit-last-verification"', 1)[1].split("</p>", 1)[0]
    assert 'data-result="broken"' in last and str(ids[1]) in last


def test_a_filtered_page_still_sees_a_deleted_neighbour(app: Flask, client: FlaskClient) -> None:
    OfficerActions(client).login(ADMIN, PASSWORD)
    ids = _fill(app, 4)
    with world(app) as (s, _f):
        s.execute(delete(AuditEntry).where(AuditEntry.id == ids[1]))
        s.commit()
    page = client.get(f"/officer/admin/audit?target={2}").get_data(as_text=True)  # shows ids[2] only
    assert 'data-intact="false"' in page and str(ids[2]) in page


def test_an_altered_checkpoint_is_refused(app: Flask, client: FlaskClient) -> None:
    ids = _fill(app, 3)
    assert _verify_cli(app)[0] == 0
    with world(app) as (s, _f):
        s.execute(delete(AuditEntry).where(AuditEntry.id == ids[-1]))
        s.execute(update(AuditCheckpoint).values(tail_id=ids[-2], entry_count=2))  # hide the deletion
        s.commit()
    code, out = _verify_cli(app)
    assert code != 0 and "(checkpoint)" in out
    OfficerActions(client).login(ADMIN, PASSWORD)
    with world(app) as (s, _f):
        s.execute(delete(AuditCheckpoint).where(AuditCheckpoint.broken_entry_id.is_not(None)))
        s.commit()
    assert 'data-result="altered"' in client.get("/officer/admin/audit").get_data(as_text=True)


def test_the_checkpoint_file_of_earlier_versions_is_read_once(app: Flask) -> None:
    ids = _fill(app, 3)
    with world(app) as (s, _f):
        newest = audit.tail(s)
        assert newest is not None
    legacy = Path(app.config["INSTANCE_DIR"]) / audit.LEGACY_CHECKPOINT_FILE
    legacy.parent.mkdir(parents=True, exist_ok=True)
    legacy.write_text(json.dumps({"id": newest.entry_id, "hash": newest.hash, "count": newest.count}))
    with world(app) as (s, _f):
        s.execute(delete(AuditEntry).where(AuditEntry.id == ids[-1]))
        s.commit()
    code, out = _verify_cli(app)
    assert code != 0 and f"entry {ids[-1]} (missing)" in out


def test_every_officer_action_is_on_the_record(make_app: Any) -> None:
    app: Flask = make_app(admin_with_corruption=True)  # `setup --with-corruption`: one admin does it all
    with world(app) as (s, factory):
        spare = factory.officer("spare", channels=("question",)).id
        sub = factory.case("corruption", "c", files=[(PNG_1PX, "p.png")])
        case, attachment = sub.case.id, sub.case.attachments[0].id
        question = factory.case("question", "q", publish_ok=True).case.id
        q = s.get(Case, question)
        assert q is not None
        old_answer = publishing.publish(s, q, factory.admin(), "q", "a").id
        s.commit()
    client = app.test_client()
    actions = OfficerActions(client)
    assert actions.post("/officer/login", {"username": ADMIN, "password": "wrong"}).status_code == 200
    actions.login(ADMIN, PASSWORD)
    c = f"/officer/cases/{case}"
    steps = [
        (f"{c}/acknowledge", {}),
        (f"{c}/status", {"status": "in_progress", "note": SECRET}),
        (f"{c}/reply", {"message": SECRET}),
        (f"{c}/note", {"note": SECRET}),
        (f"{c}/assign", {"officer": ""}),
        (f"{c}/refer", {"agency": "nacc", "reference": SECRET, "referred_on": RECENT, "note": SECRET}),
        (f"/officer/cases/{question}/publish", {"question": SECRET, "answer": SECRET, "confirm": "y"}),
        (f"/officer/answers/{old_answer}/unpublish", {}),
        (f"/officer/admin/officers/{spare}/grant", {"channel": "feedback"}),
        (f"/officer/admin/officers/{spare}/revoke", {"channel": "feedback"}),
        (f"/officer/admin/officers/{spare}/reset-2fa", {}),
        (f"/officer/admin/officers/{spare}/deactivate", {}),
    ]
    assert client.get(c).status_code == 200
    assert client.get(f"{c}/attachments/{attachment}").status_code == 200
    for path, data in steps:
        assert actions.post(path, data, form_url=c).status_code == 303, path
    intake = {"channel": "feedback", "source": "phone", "received_at": RECENT, "details": SECRET}
    assert actions.post("/officer/intake", intake).status_code == 303  # to the slip (receipts.py)
    created = actions.post("/officer/admin/officers/new", {"username": "fresh", "role": "officer"})
    assert created.status_code == 200
    settings_page = "/officer/admin/settings"
    form = {
        "municipality_name": "เทศบาลตำบลทดสอบ",
        **{f"{k}_days_{ch}": "9" for k in ("ack", "answer") for ch in ("corruption", "feedback", "question")},
        "attachment_max_file_mb": "5",
        "attachment_max_total_mb": "20",
        "retention_years": "5",
    }
    assert actions.post(settings_page, form).status_code == 303
    new = "another good password"
    assert (
        actions.post("/officer/password", {"current": PASSWORD, "new": new, "confirm": new}).status_code
        == 303
    )
    assert actions.logout().status_code == 303
    with world(app) as (s, _f):
        entries = list(s.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        assert audit.verify(s) is None
    by_action = {(e.action, e.target) for e in entries}
    wanted = {
        ("login.failure", ADMIN),
        ("login.success", ADMIN),
        ("totp.enrol", ADMIN),
        ("case.view", str(case)),
        ("attachment.download", str(case)),
        ("case.acknowledge", str(case)),
        ("case.status", str(case)),
        ("case.reply", str(case)),
        ("case.note", str(case)),
        ("case.assign", str(case)),
        ("case.refer", str(case)),
        ("answer.publish", str(question)),
        ("answer.unpublish", str(question)),
        ("grant.add", "spare"),
        ("grant.revoke", "spare"),
        ("totp.reset", "spare"),
        ("officer.deactivate", "spare"),
        ("officer.create", "fresh"),
        ("settings.change", None),
        ("password.change", ADMIN),
        ("logout", ADMIN),
    }
    assert wanted <= by_action, wanted - by_action
    assert any(e.action == "case.intake" for e in entries)
    assert all(SECRET not in (e.detail + (e.target or "")) for e in entries)


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


def test_finding_07_text_moved_between_fields_breaks_the_hash(app: Flask) -> None:
    with world(app) as (s, _f):
        entry = audit.record(s, "ab", "c", "t", "d")
        s.commit()
        moved = audit.record(s, "x", "y").id  # an entry after it, so the change is not at the tail
        s.commit()
    # Joined with an unescaped separator, "ab"|"c" and "a"|"bc" hashed alike; a JSON list does not.
    broken = _verify_after(
        app, update(AuditEntry).where(AuditEntry.id == entry.id).values(actor="a", action="bc")
    )
    assert broken is not None and broken.entry_id == entry.id and broken.reason == "hash"
    broken = _verify_after(
        app,
        update(AuditEntry)
        .where(AuditEntry.id == entry.id)
        .values(actor="ab", action="c", target="t\x1fd", detail=""),
    )
    assert broken is not None and broken.entry_id == entry.id
    assert moved > entry.id


def test_finding_07_a_version_1_entry_after_version_2_is_a_break(app: Flask) -> None:
    ids = _fill(app, 3)
    broken = _verify_after(app, update(AuditEntry).where(AuditEntry.id == ids[1]).values(hash_version=1))
    assert broken is not None and broken.entry_id == ids[1]


def test_finding_07_an_emptied_trail_does_not_verify(app: Flask) -> None:
    _fill(app, 3)
    with world(app) as (s, _f):
        s.execute(delete(AuditEntry))
        s.execute(delete(AuditCheckpoint))
        s.commit()
    code, out = _verify_cli(app, "--anchor", str(Path(app.config["INSTANCE_DIR"]) / "none-yet"))
    assert code != 0 and "(empty)" in out  # officers exist: their creation was on the record


def test_finding_07_the_anchor_in_keys_catches_a_cut_tail_and_its_checkpoints(app: Flask) -> None:
    ids = _fill(app, 4)
    assert _verify_cli(app)[0] == 0
    anchor = Path(app.config["KEYS_DIR"]) / audit.ANCHOR_FILE
    assert json.loads(anchor.read_text())["id"] == ids[-1]
    with world(app) as (s, _f):
        s.execute(delete(AuditEntry).where(AuditEntry.id >= ids[-2]))
        s.execute(delete(AuditCheckpoint))  # the database editor removes every trace inside the database
        s.commit()
    code, out = _verify_cli(app)
    assert code != 0 and f"entry {ids[-1]} (missing)" in out
    assert json.loads(anchor.read_text())["id"] == ids[-1]  # a failed run keeps the anchor it failed on
    with world(app) as (s, _f):
        s.execute(delete(AuditEntry))
        s.commit()
    assert _verify_cli(app)[0] != 0  # and with every entry gone: empty


def test_finding_07_an_anchor_not_written_by_verify_is_refused(app: Flask) -> None:
    ids = _fill(app, 3)
    assert _verify_cli(app)[0] == 0
    anchor = Path(app.config["KEYS_DIR"]) / audit.ANCHOR_FILE
    data = json.loads(anchor.read_text())
    anchor.write_text(json.dumps({**data, "id": ids[0], "count": 1}))  # moved back, tag kept
    code, out = _verify_cli(app)
    assert code != 0 and "(anchor)" in out
    anchor.write_text("not json")
    assert _verify_cli(app)[0] != 0
    anchor.unlink()
    assert _verify_cli(app)[0] == 0 and anchor.exists()  # the first run (or after keys/ was reset) writes one


def test_two_servers_appending_at_once_keep_one_chain(app: Flask, tmp_path: Path) -> None:
    """Issue 15: two processes (two app servers) append concurrently; the chain stays one chain."""
    before = _fill(app, 1)[0]
    go, count = tmp_path / "go", 40
    env = env_for(app.config)
    writers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.audit_writer", name, str(count), str(go)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=Path(__file__).parent.parent,
        )
        for name in ("server-a", "server-b")
    ]
    go.touch()
    outputs = [w.communicate(timeout=120) for w in writers]
    assert all(w.returncode == 0 for w in writers), [err.decode()[-2000:] for _out, err in outputs]
    with world(app) as (s, _f):
        assert audit.verify(s) is None
        rows = list(s.scalars(select(AuditEntry).where(AuditEntry.id > before).order_by(AuditEntry.id)))
    assert len(rows) == 2 * count
    assert {r.actor for r in rows} == {"server-a", "server-b"}
    assert all(later.prev_hash == earlier.hash for earlier, later in zip(rows, rows[1:], strict=False))


def test_finding_09_views_and_refusals_are_on_the_record(app: Flask) -> None:
    with world(app) as (s, factory):
        factory.officer("pr", channels=("feedback",))
        factory.officer("boss", role=Role.EXECUTIVE)
        other = factory.case("corruption", "not for pr").case.id
        s.commit()
    admin = app.test_client()
    OfficerActions(admin).login(ADMIN, PASSWORD)
    assert admin.get("/officer/reports").status_code == 200
    assert admin.get("/officer/admin/officers").status_code == 200
    assert admin.get("/officer/admin/audit?actor=pr").status_code == 200
    pr = app.test_client()
    pr_actions = OfficerActions(pr)
    pr_actions.login("pr", "officer password 1")
    assert pr.get("/officer/queue").status_code == 200
    assert pr.get(f"/officer/cases/{other}").status_code == 404
    assert pr.get(f"/officer/cases/{other}/attachments/1").status_code == 404
    assert (
        pr_actions.post(
            f"/officer/cases/{other}/note", {"note": SECRET}, form_url="/officer/queue"
        ).status_code
        == 404
    )
    assert pr.get("/officer/cases/999999").status_code == 404
    assert pr.get("/officer/admin/audit").status_code == 403
    boss = app.test_client()
    OfficerActions(boss).login("boss", "officer password 1")
    assert boss.get(f"/officer/cases/{other}").status_code == 404
    with world(app) as (s, _f):
        rows = list(s.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        assert audit.verify(s) is None
    seen = {(e.actor, e.action, e.target) for e in rows}
    wanted = {
        (ADMIN, "officer.list", None),
        ("pr", "queue.view", None),
        ("pr", "case.refused", "999999"),
    }
    assert wanted <= seen, wanted - seen
    assert any(e.actor == ADMIN and e.action == "report.view" for e in rows)
    refusals = [e for e in rows if e.actor == "pr" and e.action == "case.refused" and e.target == str(other)]
    assert len(refusals) == 3 and all("reason=channel" in e.detail for e in refusals)
    assert any(e.detail.startswith("POST officer.note") for e in refusals)
    assert any(e.action == "audit.view" and "actor=pr" in e.detail for e in rows)
    assert any(e.actor == "pr" and e.action == "access.refused" and "role=officer" in e.detail for e in rows)
    assert any(e.actor == "boss" and e.action == "access.refused" for e in rows)
    assert all(SECRET not in e.detail for e in rows)
