"""Notification mail: notices a minute one worker sends to local SMTP, and the outbox's cost on submit.

    .venv/bin/python bench/notify.py [--quick] [--database-url URL] [--notices 600] [--submits 300]

1. Sending. A fresh instance (setup, then 20 officers with an address on the feedback channel) and an SMTP
   server in a process of its own (aiosmtpd's Sink: it accepts and discards) on 127.0.0.1. The outbox is
   filled with N notices (a) one to each of N escalation addresses: one mail each, and (b) spread over
   the 20 officers: a worker's batch of 50 becomes one mail per officer, so fewer mails than notices.
   One `Worker.run_once()` sends them (the same code as `flask --app wsgi notify --once`); the figures are
   mails and notices a minute. SMTP over loopback, no TLS: the figure is the worker's own cost.
2. Submit path. Citizen submissions (GET the form, POST it, through the app in-process with its test
   client: CSRF, validation, encryption, commit) with a mail server configured, so that each writes a
   notice to every officer holding the channel in its transaction, against the same without one (no
   notices), on the same database, one of each in turn (medians): question cases (3 officers and the
   administrator hold the channel: 4 notices, a municipality's usual size) and feedback cases (21
   notices). Targets: with the outbox at least 0.9 of the submissions a second without it at 4
   recipients, 0.8 at 21.
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
from tests import servers

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
OFFICERS = 20  # hold the feedback channel: 21 recipients of each new feedback case with the administrator
QUESTION_OFFICERS = 3  # hold the question channel too: 4 recipients, a municipality's usual few
PATHS = {"feedback": "/report/feedback", "question": "/ask"}
FIELDS = {
    "feedback": {"service": "งานเก็บขยะ", "rating": "2", "contact": "081-234-5678"},
    "question": {"contact": "081-234-5678", "publish_ok": "y"},
}


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
        admin_private = keyring.unlock(admin, benchlib.PASSWORD)
        feedback = keyring.channel_private(session, admin, admin_private, "feedback")
        question = keyring.channel_private(session, admin, admin_private, "question")
        for n in range(OFFICERS):
            officer = keyring.create_officer(session, f"officer{n}", benchlib.OFFICER_PASSWORD, Role.OFFICER)
            officer.email = f"officer{n}@example.go.th"
            keyring.grant(session, officer, "feedback", feedback, by=admin)
            if n < QUESTION_OFFICERS:
                keyring.grant(session, officer, "question", question, by=admin)
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


class Submitter:
    """One citizen after another on one app: GET the form, POST it; `once()` times one submission."""

    def __init__(self, app: Any, channel: str) -> None:
        self.client = app.test_client()
        self.path = PATHS[channel]
        self.fields = {"details": " ".join(thai_text.FEEDBACK * 4)[:1500], **FIELDS[channel]}

    def once(self) -> float:
        start = time.perf_counter()
        page = self.client.get(self.path).get_data(as_text=True)
        match = CSRF.search(page)
        if not match:
            raise SystemExit(f"no CSRF token on {self.path}")
        data = {"csrf_token": match.group(1), **self.fields}
        response = self.client.post(self.path, data=data, content_type="multipart/form-data")
        if response.status_code not in (200, 303):
            raise SystemExit(f"a submission to {self.path} failed: {response.status_code}")
        return time.perf_counter() - start


def compare(mail_app: Any, plain_app: Any, channel: str, count: int) -> tuple[float, float]:
    """Median seconds per submission with the outbox and without, one of each in turn (so that the
    machine's load falls on both alike)."""
    sides = Submitter(mail_app, channel), Submitter(plain_app, channel)
    for side in sides:  # warm-up
        side.once()
        side.once()
    with_outbox, without = [], []
    for _ in range(count):
        with_outbox.append(sides[0].once())
        without.append(sides[1].once())
    return benchlib.median(with_outbox), benchlib.median(without)


def main() -> None:
    p = benchlib.parser(__doc__.splitlines()[0])
    p.add_argument("--notices", type=int, default=None, help="notices to send in each of the two runs")
    p.add_argument("--submits", type=int, default=None, help="submissions per channel and side")
    args = p.parse_args()
    count = args.notices or (40 if args.quick else 600)
    submits = args.submits or (4 if args.quick else 300)
    r = benchlib.Results("notify", args)
    inst = benchlib.instance_for("notify", args.database_url, args.data_dir)
    inst.create()
    port = servers.free_port()
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
        usual = compare(mail_app, plain_app, "question", submits)
        many = compare(mail_app, plain_app, "feedback", submits)
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
    submissions = submits + 2
    r.figure("submit_4_recipients_s", usual[0], "question case, 4 recipients: with the outbox (GET+POST)")
    r.figure("submit_4_recipients_without_s", usual[1], "question case: without")
    r.figure("submit_21_recipients_s", many[0], "feedback case, 21 recipients: with the outbox")
    r.figure("submit_21_recipients_without_s", many[1], "feedback case: without")
    r.figure("notices_written", written, f"notices written by {2 * submissions} submissions")
    r.target("submissions/s with the outbox / without, 4 recipients", usual[1] / usual[0], 0.9, at_least=True)
    r.target("submissions/s with the outbox / without, 21 recipients", many[1] / many[0], 0.8, at_least=True)
    r.finish()


if __name__ == "__main__":
    main()
