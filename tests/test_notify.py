"""The worker against a real SMTP server: refusals, time-outs and an absent server lose and repeat nothing;
retries back off; the last failure is shown to administrators; leases; the `notify` command."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from intake import dates, db, mailer, notify
from intake.models import Notice, NoticeState

from .conftest import ADMIN, PASSWORD
from .mailbox import Mailbox
from .notify_helpers import deliveries, officer_with_mail, outbox, recipients, run
from .officer_helpers import OfficerActions, world
from .servers import ROOT, env_for


def _two_cases(app: Flask, mailbox: Mailbox) -> None:
    with world(app) as (_s, factory):
        officer_with_mail(factory, "pr", ("feedback",))
        officer_with_mail(factory, "legal", ("corruption",))
        tokens = [factory.case("feedback", "MARKER-F").token, factory.case("corruption", "MARKER-C").token]
        mailbox.forbid(*tokens)
        mailbox.forbid("MARKER-F", "MARKER-C")


@pytest.mark.parametrize("trouble", ["refuse4", "refuse5", "stall"])
def test_the_server_refusing_or_timing_out_then_back_loses_and_repeats_nothing(
    make_app: Any, mailbox: Mailbox, trouble: str
) -> None:
    app = make_app(**mailbox.config(MAIL_TIMEOUT=1.0))
    mailbox.handler.stall_seconds = 2.5
    _two_cases(app, mailbox)
    mailbox.set_mode(trouble)
    first = run(app)
    assert first.retried == 2 and first.mails == 0 and mailbox.received == []
    rows = outbox(app)
    assert all(n.state == NoticeState.PENDING and n.attempts == 1 and n.last_error for n in rows)
    retry_at = min(n.due_at for n in rows)
    assert retry_at >= dates.now() + timedelta(seconds=50)  # NOTIFY_RETRY_SECONDS = 60
    mailbox.set_mode("accept")
    assert run(app).mails == 0  # not due yet: the backoff holds
    assert run(app, retry_at + timedelta(seconds=1)).mails == 2
    assert run(app, retry_at + timedelta(hours=1)).mails == 0
    assert recipients(mailbox.received) == ["legal@example.go.th", "pr@example.go.th"]
    assert [d.result for d in deliveries(app)].count("sent") == 2
    assert all(n.state == NoticeState.SENT and n.attempts == 2 for n in outbox(app))


def test_an_absent_server_then_back(make_app: Any, mailbox: Mailbox) -> None:
    port = mailbox.port
    mailbox.stop()
    app = make_app(**mailbox.config())
    _two_cases(app, mailbox)
    summary = run(app)
    assert summary.retried == 2
    assert {d.detail for d in deliveries(app)} == {"connection refused"}
    mailbox.start(port)
    later = max(n.due_at for n in outbox(app))
    assert run(app, later).mails == 2
    assert run(app, later + timedelta(days=1)).mails == 0
    assert len(mailbox.received) == 2


def test_backoff_doubles_up_to_six_hours(app: Flask) -> None:
    config = notify.WorkerConfig.from_app({**app.config, "NOTIFY_RETRY_SECONDS": 60})
    assert [config.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert config.backoff(30) == timedelta(hours=6)


def test_after_the_last_retry_administrators_see_it_and_can_send_again(
    make_app: Any, mailbox: Mailbox
) -> None:
    app = make_app(**mailbox.config(NOTIFY_MAX_ATTEMPTS=2, NOTIFY_RETRY_SECONDS=0))
    with world(app) as (_s, factory):
        officer_with_mail(factory, "pr", ("feedback",))
        factory.case("feedback", "x")
    mailbox.set_mode("refuse5")
    run(app)
    assert run(app).failed == 1
    (notice,) = outbox(app)
    assert notice.state == NoticeState.FAILED and (notice.last_error or "").startswith("554")
    assert [d.result for d in deliveries(app)] == ["retry", "failed"]

    admin = OfficerActions(app.test_client())
    admin.login(ADMIN, PASSWORD)
    queue = admin.client.get("/officer/queue").get_data(as_text=True)
    assert 'id="mail-trouble"' in queue and "อีเมลแจ้งเตือน 1 รายการส่งไม่สำเร็จ" in queue
    page = admin.client.get("/officer/admin/notifications").get_data(as_text=True)
    assert 'id="failed-count">1<' in page
    log = admin.client.get("/officer/admin/notifications/log").get_data(as_text=True)
    assert "554 5.7.1 Relay access denied" in log and "pr@example.go.th" in log

    mailbox.set_mode("accept")
    response = admin.post("/officer/admin/notifications/retry", {}, form_url="/officer/admin/notifications")
    assert response.status_code == 303
    assert run(app).mails == 1
    assert 'id="mail-trouble"' not in admin.client.get("/officer/queue").get_data(as_text=True)
    assert len(mailbox.received) == 1


def test_a_worker_that_lost_its_lease_sends_nothing(mail_app: Flask, mailbox: Mailbox) -> None:
    """Worker A claims and stalls past its lease; B claims the same notices and sends them; A's fence
    (renewing exactly its own rows before a mail) fails, so A sends nothing: one mail."""
    with world(mail_app) as (_s, factory):
        officer_with_mail(factory, "pr", ("feedback",))
        factory.case("feedback", "x")
    worker = notify.Worker(mail_app)
    now = dates.now()
    with mail_app.app_context(), db.new_session() as a_session, db.new_session() as b_session:
        token_a, rows_a = notify.claim(a_session, now, worker.config.lease)
        assert len(rows_a) == 1
        assert notify.claim(b_session, now, worker.config.lease) == ("", [])  # A's lease holds
        later = now + worker.config.lease + timedelta(seconds=1)
        token_b, rows_b = notify.claim(b_session, later, worker.config.lease)
        assert [r.id for r in rows_b] == [r.id for r in rows_a]
        with mailer.Connection(worker.mail) as conn:
            b = worker._send_claim(b_session, conn, token_b, rows_b, lambda: later)
            a = worker._send_claim(a_session, conn, token_a, rows_a, lambda: later)
    assert (b.mails, a.mails) == (1, 0)
    assert len(mailbox.received) == 1


def test_once_command_sends_and_exits(mail_app: Flask, mailbox: Mailbox) -> None:
    with world(mail_app) as (_s, factory):
        officer_with_mail(factory, "pr", ("feedback",))
        factory.case("feedback", "x")
    result = mail_app.test_cli_runner().invoke(args=["notify", "--once"])
    assert result.exit_code == 0, result.output
    assert "1 mails sent carrying 1 notices" in result.output
    assert recipients(mailbox.received) == ["pr@example.go.th"]


def test_the_command_refuses_without_a_mail_server(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["notify", "--once"])
    assert result.exit_code == 1
    assert "INTAKE_MAIL_SERVER" in result.output


def test_sqlite_allows_one_worker(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'intake.db'}"
    with (
        notify.single_worker_lock(url),
        pytest.raises(notify.WorkerRefused, match="another notify worker"),
        notify.single_worker_lock(url),
    ):
        pass
    with notify.single_worker_lock(url):  # released with the first
        pass
    with notify.single_worker_lock("postgresql+psycopg://u@h/d"), notify.single_worker_lock("postgresql://x"):
        pass  # nothing to hold: SKIP LOCKED keeps PostgreSQL workers apart


def test_the_daemon_sends_and_stops_on_sigterm(make_app: Any, mailbox: Mailbox, tmp_path: Path) -> None:
    """`flask --app wsgi notify` as the systemd unit runs it: mails go out, SIGTERM ends it with status 0."""
    app = make_app(**mailbox.config())
    with world(app) as (_s, factory):
        officer_with_mail(factory, "pr", ("feedback",))
        factory.case("feedback", "x")
    env = env_for(
        app.config,
        **{k: v for k, v in mailbox.config().items()},
        NOTIFY_POLL_SECONDS="0.2",
    )
    log = tmp_path / "notify.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "notify"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            mailbox.wait_for(1, timeout=60)
            with world(app) as (_s, factory):  # a second case while it runs
                factory.case("feedback", "y")
            mailbox.wait_for(2, timeout=60)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            status = proc.wait(timeout=60)
    text = log.read_text()
    assert status == 0, text
    assert "Notify worker started" in text and "Notify worker stopped." in text
    assert "INFO intake.notify: notify: 0 new reminders; 1 mails sent carrying 1 notices" in text
    assert "example.go.th" not in text.split("for 127.0.0.1", 1)[1]  # no recipient in the log
    assert recipients(mailbox.received) == ["pr@example.go.th", "pr@example.go.th"]


def test_two_workers_on_postgresql_send_each_notice_once(mail_app: Flask, mailbox: Mailbox) -> None:
    """Two workers (threads, each its own connection) racing over 120 notices in small batches: each is
    sent exactly once (FOR UPDATE SKIP LOCKED and leases). SQLite runs one worker (flock, above)."""
    with mail_app.app_context():
        if db.session().get_bind().dialect.name != "postgresql":
            pytest.skip("several workers need PostgreSQL; on SQLite the lock allows one")
        session = db.session()
        now = dates.now()
        session.add_all(
            Notice(kind="escalation", address=f"deputy{n}@example.go.th", created_at=now, due_at=now)
            for n in range(120)
        )
        session.commit()
    original = notify.BATCH
    notify.BATCH = 4
    try:
        results: list[notify.Summary] = []
        threads = [threading.Thread(target=lambda: results.append(run(mail_app))) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        notify.BATCH = original
    assert len(results) == 2 and all(r.mails > 0 for r in results), results
    assert sum(r.mails for r in results) == 120
    addresses = [m.to for m in mailbox.received]
    assert len(addresses) == 120 and len(set(addresses)) == 120
    with mail_app.app_context():
        states = db.session().scalars(select(Notice.state)).all()
    assert set(states) == {NoticeState.SENT.value}


def test_a_mail_that_cannot_be_composed_counts_as_a_failed_attempt(
    mail_app: Flask, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in one mail does not stop the others, nor the worker: it is retried, then failed."""
    with world(mail_app) as (_s, factory):
        officer_with_mail(factory, "pr", ("feedback",))
        officer_with_mail(factory, "legal", ("corruption",))
        factory.case("feedback", "x")
        factory.case("corruption", "y")
    real = notify.compose

    def broken(session: Any, group: notify.Group, now: Any) -> Any:
        if group.address.startswith("pr@"):
            raise KeyError("a template bug")
        return real(session, group, now)

    monkeypatch.setattr(notify, "compose", broken)
    summary = run(mail_app)
    assert (summary.mails, summary.retried) == (1, 1)
    assert recipients(mailbox.received) == ["legal@example.go.th"]
    failed = [d for d in deliveries(mail_app) if d.result == "retry"]
    assert [d.detail for d in failed] == ["internal error: KeyError"]
    monkeypatch.setattr(notify, "compose", real)
    assert run(mail_app, dates.now() + timedelta(minutes=5)).mails == 1
    assert recipients(mailbox.received) == ["legal@example.go.th", "pr@example.go.th"]


def test_sent_event_notices_are_pruned_after_90_days_reminders_stay(
    mail_app: Flask, mailbox: Mailbox
) -> None:
    with world(mail_app) as (session, factory):
        officer_with_mail(factory, "pr", ("feedback",))
        factory.case("feedback", "new", received_at=dates.now() - timedelta(days=20))
    run(mail_app)
    kinds = sorted(n.kind for n in outbox(mail_app))
    assert kinds == ["ack_overdue", "answer_overdue", "case_new"]
    run(mail_app, dates.now() + timedelta(days=89))
    assert len(outbox(mail_app)) == 3
    run(mail_app, dates.now() + timedelta(days=91))
    assert sorted(n.kind for n in outbox(mail_app)) == ["ack_overdue", "answer_overdue"]
    assert len(mailbox.received) == 1  # and nothing was sent again
    assert len(deliveries(mail_app)) == 1
