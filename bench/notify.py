"""Notification mail: notices a minute one worker sends to local SMTP, and the outbox's cost on submit.

    .venv/bin/python bench/notify.py [--quick] [--database-url URL] [--notices 600] [--submits 60]

1. Sending. A fresh instance (setup, then 20 officers with an address on the feedback channel) and an SMTP
   server in a process of its own (aiosmtpd's Sink: it accepts and discards) on 127.0.0.1. The outbox is
   filled with N notices (a) one to each of N escalation addresses: one mail each, and (b) spread over
   the 20 officers: a worker's batch of 50 becomes one mail per officer, so fewer mails than notices.
   One `Worker.run_once()` sends them (the same code as `flask --app wsgi notify --once`); the figures are
   mails and notices a minute. SMTP over loopback, no TLS: the figure is the worker's own cost.
2. Submit path. Citizen submissions (GET the form, POST it, through the app in-process with its test
   client: CSRF, validation, encryption, commit) with a mail server configured, so that each writes a
   notice to every officer holding the channel (21 with the administrator) in its transaction, against
   the same without one (no notices), on the same database, rounds alternating. Target: with the
   outbox at least 0.9 of the submissions a second without it.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from typing import Any

import benchlib
import thai_text
from sqlalchemy import func, select

from intake import db, keyring, notify
from intake.models import Notice, NoticeState, Officer, Role

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
OFFICERS = 20


def smtp_server(port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink", "-l", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("the SMTP server did not start")


def mail_config(port: int) -> dict[str, Any]:
    return {
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": port,
        "MAIL_SECURITY": "none",
        "MAIL_FROM": "intake@example.go.th",
        "PUBLIC_URL": "https://report.example.go.th",
    }


def add_officers(app: Any) -> None:
    with app.app_context():
        session = db.session()
        admin = session.scalar(select(Officer).where(Officer.username == benchlib.ADMIN))
        assert admin is not None
        admin.email = "admin@example.go.th"
        private = keyring.channel_private(
            session, admin, keyring.unlock(admin, benchlib.PASSWORD), "feedback"
        )
        for n in range(OFFICERS):
            officer = keyring.create_officer(session, f"officer{n}", benchlib.OFFICER_PASSWORD, Role.OFFICER)
            officer.email = f"officer{n}@example.go.th"
            keyring.grant(session, officer, "feedback", private, by=admin)
        session.commit()


def fill(app: Any, count: int, *, officers: bool) -> None:
    with app.app_context():
        session = db.session()
        ids = list(session.scalars(select(Officer.id).where(Officer.username.like("officer%"))))
        session.add_all(
            Notice(kind="case_new", officer_id=ids[n % len(ids)], channel="feedback")
            if officers
            else Notice(kind="escalation", address=f"deputy{n}@example.go.th")
            for n in range(count)
        )
        session.commit()


def send_all(app: Any) -> tuple[notify.Summary, float]:
    start = time.perf_counter()
    summary = notify.Worker(app).run_once(reminders=False)
    elapsed = time.perf_counter() - start
    with app.app_context():
        left = db.session().scalar(
            select(func.count()).select_from(Notice).where(Notice.state == NoticeState.PENDING.value)
        )
    if left:
        raise SystemExit(f"{left} notices left unsent: {summary.line()}")
    return summary, elapsed


def submit_round(app: Any, count: int) -> tuple[float, int]:
    """Seconds per submission (GET + POST through the app), and how many succeeded."""
    client = app.test_client()
    details = " ".join(thai_text.FEEDBACK * 4)[:1500]
    ok = 0
    start = time.perf_counter()
    for _ in range(count):
        page = client.get("/report/feedback").get_data(as_text=True)
        match = CSRF.search(page)
        assert match, "no CSRF token on the form"
        data = {
            "csrf_token": match.group(1),
            "service": "งานเก็บขยะ",
            "rating": "2",
            "details": details,
            "contact": "081-234-5678",
        }
        response = client.post("/report/feedback", data=data, content_type="multipart/form-data")
        ok += response.status_code in (200, 303)
    return (time.perf_counter() - start) / max(1, count), ok


def main() -> None:
    p = benchlib.parser(__doc__.splitlines()[0])
    p.add_argument("--notices", type=int, default=None, help="notices to send in each of the two runs")
    p.add_argument("--submits", type=int, default=None, help="submissions per round and side")
    p.add_argument("--rounds", type=int, default=None)
    args = p.parse_args()
    count = args.notices or (40 if args.quick else 600)
    submits = args.submits or (4 if args.quick else 60)
    rounds = args.rounds or (1 if args.quick else 5)
    r = benchlib.Results("notify", args)
    inst = benchlib.instance_for("notify", args.database_url, args.data_dir)
    inst.create()
    port = benchlib.free_port()
    server = smtp_server(port)
    try:
        inst.setup()
        mail_app = inst.app(**mail_config(port))
        add_officers(mail_app)

        fill(mail_app, count, officers=False)
        one_each, seconds = send_all(mail_app)
        r.figure("notices", count)
        r.figure("mails_per_minute_one_notice_each", round(one_each.mails / seconds * 60))
        fill(mail_app, count, officers=True)
        batched, seconds_b = send_all(mail_app)
        r.figure("officer_mails", batched.mails, f"mails for {count} notices to {OFFICERS} officers")
        r.figure("notices_per_minute_to_officers", round(batched.notices / seconds_b * 60))

        plain_app = inst.app()  # no mail server: no notices
        submit_round(mail_app, 2)  # warm-up
        submit_round(plain_app, 2)
        with_outbox, without = [], []
        for _ in range(rounds):
            per, ok = submit_round(mail_app, submits)
            assert ok == submits, "submissions failed with the outbox"
            with_outbox.append(per)
            per, ok = submit_round(plain_app, submits)
            assert ok == submits, "submissions failed without the outbox"
            without.append(per)
        with mail_app.app_context():
            written = db.session().scalar(
                select(func.count())
                .select_from(Notice)
                .where(Notice.kind == "case_new", Notice.case_id.is_not(None))
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
        inst.destroy()
    w, wo = benchlib.median(with_outbox), benchlib.median(without)
    r.figure("submit_with_outbox_s", w, "submission with the outbox (GET+POST)")
    r.figure("submit_without_outbox_s", wo, "submission without")
    r.figure("notices_written", written, f"notices written by {rounds * submits + 2} submissions")
    r.target("submissions/s with the outbox / without", wo / w, 0.9, at_least=True)
    r.finish()


if __name__ == "__main__":
    main()
