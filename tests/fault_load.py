"""The load of the fault test (tests/test_faults.py), through the load balancer, every answer classified.

Citizens submit on the three channels (feedback and corruption with a text file and a picture), then
track what they got a token for; officers sign in with password and TOTP once, then open the queue, a
case and one of its files. A citizen whose submission meets a "try again shortly" page does what the page
says: waits a moment and sends the same text again (a few times at most). Bounded: a request budget, a
deadline, and a stop event the test sets when its faults are done.

Each answer is one of: as expected; "away" (a 503 with one of our pages: the app's try-again page, the
form given back with its text, or the load balancer's own page, tests/engines.py); or a failure, named by
kind (a 500, a trace, a 503 without our page, an unexpected status, a lost connection, a sign-out).
"""

from __future__ import annotations

import http.client
import random
import re
import secrets
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from intake import crypto

from .citizen_helpers import URLS, valid_data
from .factories import PNG_1PX
from .servers import CSRF, Client, Reply, multipart

TRY_AGAIN = "กรุณาลองใหม่อีกครั้งในอีกสักครู่"  # errors/503.html, in Thai (the clients' language)
STORE_AWAY = "ไม่สามารถจัดเก็บไฟล์"  # the citizen's form given back: the store was away
DATABASE_AWAY = "ไม่สามารถบันทึกเรื่องของท่านได้"  # the citizen's form given back: the database was away
PROXY_PAGE = 'id="proxy-unavailable"'  # intake/proxy_page.py, served by HAProxy itself
BUSY = "ระบบกำลังมีผู้ใช้งานจำนวนมาก"  # errors/busy.html: too many sign-ins queued for the password KDF
SESSIONS_AWAY = "ระบบเข้าสู่ระบบของเจ้าหน้าที่ขัดข้องชั่วคราว"  # errors/sessions_away.html (the sessions' Redis)
CASE_LINK = re.compile(r'href="/officer/cases/(\d+)"')
FILE_LINK = re.compile(r'href="(/officer/cases/\d+/attachments/\d+)"')
FORM_ID = re.compile(r'name="form_id"[^>]*value="([^"]+)"')
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
KILL_PHASE = "app server 1 SIGKILLed, restarted"  # tests/test_faults.py names its faults so
# The sessions' Redis keeps no copy on disk (by design: a session secret must die with it): once it has
# restarted, every officer is signed out and signs in again; before that, a sign-out is a failure.
SESSIONS_PHASE = "sessions' Redis restarted (officers sign in again)"
PATIENCE = 8  # times a citizen sends the same submission again after a "try again shortly" page
FILE_BYTES = 24 * 1024
# Longer than HAProxy's server timeout (60 s): a request that hangs gets the load balancer's 504 page
# (counted as "away"), not a client-side timeout.
CLIENT_TIMEOUT = 90
PAUSE = 0.5  # seconds each client waits between two actions: a steady load, not a flood, on 2 cores


@dataclass
class Sent:
    channel: str
    label: str
    files: int  # files attached


@dataclass
class Tally:
    """Everything the clients saw, counted under one lock."""

    budget: int
    deadline: float
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    by_kind: Counter[str] = field(default_factory=Counter)
    away: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    received: dict[str, Sent] = field(default_factory=dict)
    phase: str = "before the faults"  # what is being done to the engines now (set by the test)
    away_by_phase: Counter[str] = field(default_factory=Counter)
    by_phase: Counter[str] = field(default_factory=Counter)
    gave_up: int = 0  # submissions still refused after PATIENCE tries (the citizen would come back later)
    sessions_lost: bool = False  # set by the test once the sessions' Redis has restarted
    signed_in_again: int = 0
    downloads: int = 0
    tracked: int = 0

    def running(self) -> bool:
        return not self.stop.is_set() and time.monotonic() < self.deadline and self.requests < self.budget

    def fail(self, kind: str, detail: str) -> None:
        with self.lock:
            self.failures[kind] += 1
            if len(self.examples) < 12:
                self.examples.append(f"{kind}: {detail}")

    def call(self, kind: str, expected: tuple[int, ...], do: object) -> Reply | None:
        """Run one request; count it; None when it failed or met an engine away (then counted as such)."""
        try:
            reply: Reply = do()  # type: ignore[operator]
        except (OSError, http.client.HTTPException) as exc:
            with self.lock:
                self.requests += 1
                self.by_kind[kind] += 1
                killing = self.phase == KILL_PHASE
                if killing:
                    self.away["answer cut off by the killed server"] += 1
                    self.away_by_phase[self.phase] += 1
            # HAProxy never goes away here: a lost connection is a failure, except for an answer whose
            # server was SIGKILLed while sending it (nobody can finish that one; the client asks again).
            if not killing:
                self.fail("connection error", f"{kind}: {type(exc).__name__}: {exc}")
            return None
        with self.lock:
            self.requests += 1
            self.by_status[reply.status] += 1
            self.by_kind[kind] += 1
            self.by_phase[self.phase] += 1
        verdict = classify(reply, expected)
        if verdict == "ok":
            return reply
        if verdict.startswith("away:"):
            with self.lock:
                self.away[verdict.removeprefix("away:")] += 1
                self.away_by_phase[self.phase] += 1
            return None
        self.fail(verdict, f"{kind} -> HTTP {reply.status}: {reply.body[:200]!r}")
        return None


def classify(reply: Reply, expected: tuple[int, ...]) -> str:
    """"ok", "away:<page>" or the kind of failure."""
    if "Traceback" in reply.body:
        return "traceback in a page"
    if reply.status == 503:
        if PROXY_PAGE in reply.body:
            return "away:load balancer's page"
        if STORE_AWAY in reply.body or DATABASE_AWAY in reply.body:
            return "away:form kept"
        if TRY_AGAIN in reply.body:
            return "away:app's try-again page"
        if BUSY in reply.body:
            return "away:busy page"
        if SESSIONS_AWAY in reply.body:
            return "away:sessions away page"
        return "503 without the try-again page"
    if reply.status >= 500:
        return f"HTTP {reply.status}"
    if reply.status not in expected:
        return f"unexpected HTTP {reply.status}"
    return "ok"


# --- citizens ------------------------------------------------------------------------------------


def _payload(channel: str, label: str) -> tuple[dict[str, str], list[tuple[str, str, bytes, str]]]:
    fields = {k: str(v) for k, v in valid_data(channel, label).items()}
    fields.update(website="", keep_filename="y")
    if channel == "question":
        return fields, []
    line = (label + " " + secrets.token_hex(24) + "\n").encode()
    text = line * (FILE_BYTES // len(line))
    return fields, [("attachments", f"{label}.txt", text, "text/plain"),
                    ("attachments", "photo.png", PNG_1PX, "image/png")]


def submit(tally: Tally, client: Client, rng: random.Random) -> None:
    channel = rng.choice(list(URLS))
    label = "fault-" + secrets.token_hex(5)
    fields, files = _payload(channel, label)
    for _attempt in range(PATIENCE):
        if not tally.running():
            return
        page = tally.call("form", (200,), lambda: client.get(URLS[channel]))
        match = CSRF.search(page.body) if page else None
        if match is None:
            time.sleep(0.5)
            continue
        stamp = FORM_ID.search(page.body) if page else None  # the one-time value a browser sends back
        hidden = {"csrf_token": match.group(1), **({"form_id": stamp.group(1)} if stamp else {})}
        body, content_type = multipart({**hidden, **fields}, files)
        reply = tally.call("submit", (200,), lambda b=body, c=content_type: client.request(
            "POST", URLS[channel], b, {"Content-Type": c}))
        token = reply.token() if reply is not None else None
        if token:
            with tally.lock:
                tally.received[token] = Sent(channel, label, len(files))
            return
        if reply is not None:
            tally.fail("receipt without a token", f"{channel} {label}")
            return
        time.sleep(0.5)  # "please try again shortly"
    with tally.lock:
        tally.gave_up += 1


def track(tally: Tally, client: Client, rng: random.Random) -> None:
    with tally.lock:
        token = rng.choice(list(tally.received)) if tally.received else None
    if token is None:
        return
    page = tally.call("form", (200,), lambda: client.get("/track"))
    match = CSRF.search(page.body) if page else None
    if match is None:
        return
    body = urllib.parse.urlencode({"csrf_token": match.group(1), "token": token}).encode()
    reply = tally.call("track", (200,), lambda: client.request("POST", "/track", body, FORM))
    if reply is not None:
        if 'id="case-status"' not in reply.body:
            tally.fail("token not found while tracking", token[:4] + "…")
        else:
            with tally.lock:
                tally.tracked += 1


def _guarded(name: str, tally: Tally, work: Any, *args: Any) -> None:
    """Run one client; an exception it did not expect is a failure on the record, not a silent thread."""
    try:
        work(tally, *args)
    except Exception as exc:  # noqa: BLE001 - reported, with its kind
        tally.fail("client crashed", f"{name}: {type(exc).__name__}: {exc}")


def citizen(tally: Tally, base_url: str, seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - a load mix, not security
    client = Client(base_url, timeout=CLIENT_TIMEOUT)
    while tally.running():
        if rng.random() < 0.55:
            submit(tally, client, rng)
        else:
            track(tally, client, rng)
        time.sleep(PAUSE)


# --- officers ------------------------------------------------------------------------------------


@dataclass
class Officer:
    username: str
    password: str
    totp_secret: bytes
    last_step: int = -1  # the TOTP step of the last code used: a code is accepted once


def _fresh_code(officer: Officer) -> str:
    """A code of a step not used yet: the current one, else wait for the next (at most 30 s)."""
    step = int(time.time() // crypto.TOTP_STEP)
    if step <= officer.last_step:
        time.sleep((officer.last_step + 1) * crypto.TOTP_STEP - time.time() + 0.1)
        step = officer.last_step + 1
    officer.last_step = step
    return crypto.totp_now(officer.totp_secret, step * crypto.TOTP_STEP)


def sign_in(tally: Tally, client: Client, officer: Officer) -> bool:
    """Password, then a TOTP code of a step not used before (a code is accepted once)."""
    for _attempt in range(PATIENCE):
        if not tally.running():
            return False
        page = tally.call("sign-in", (200,), lambda: client.get("/officer/login"))
        match = CSRF.search(page.body) if page else None
        if match is None:
            time.sleep(0.5)
            continue
        fields = {"csrf_token": match.group(1), "username": officer.username, "password": officer.password}
        body = urllib.parse.urlencode(fields).encode()
        code_page = tally.call(
            "sign-in", (200,), lambda b=body: client.request("POST", "/officer/login", b, FORM))
        match = CSRF.search(code_page.body) if code_page else None
        if code_page is None or match is None or 'name="code"' not in code_page.body:
            time.sleep(0.5)
            continue
        code = _fresh_code(officer)
        fields = {"csrf_token": match.group(1), "code": code}
        body = urllib.parse.urlencode(fields).encode()
        home = tally.call(
            "sign-in", (200,), lambda b=body: client.request("POST", "/officer/login/code", b, FORM))
        if home is not None and 'name="code"' not in home.body and 'name="password"' not in home.body:
            return True
        time.sleep(0.5)
    tally.fail("officer could not sign in", officer.username)
    return False


def signed_out(page: Reply) -> bool:
    return 'name="password"' in page.body and 'name="username"' in page.body


def officer_work(tally: Tally, base_url: str, officer: Officer, seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - a load mix, not security
    client = Client(base_url, timeout=CLIENT_TIMEOUT)
    if not sign_in(tally, client, officer):
        return
    while tally.running():
        time.sleep(PAUSE)
        queue = tally.call("queue", (200,), lambda cl=client: cl.get("/officer/queue"))
        if queue is None:
            continue
        if signed_out(queue):
            # Sessions live in the database and the sessions' Redis: only that Redis restarting signs out.
            if not tally.sessions_lost:
                tally.fail("officer signed out", officer.username)
                return
            client = Client(base_url, timeout=CLIENT_TIMEOUT)  # the browser drops the dead cookie
            if not sign_in(tally, client, officer):
                return
            with tally.lock:
                tally.signed_in_again += 1
            continue
        ids = CASE_LINK.findall(queue.body)
        if not ids:
            continue
        case_id = rng.choice(ids)
        case = tally.call("case", (200,), lambda c=case_id, cl=client: cl.get(f"/officer/cases/{c}"))
        links = FILE_LINK.findall(case.body) if case else []
        if not links:
            continue
        link = rng.choice(links)
        reply = tally.call("download", (200,), lambda u=link, cl=client: cl.get(u))
        if reply is not None:
            if not reply.body:
                tally.fail("empty download", case_id)
            else:
                with tally.lock:
                    tally.downloads += 1


def start(tally: Tally, base_url: str, officers: list[Officer], citizens: int) -> list[threading.Thread]:
    threads = [threading.Thread(target=_guarded, args=(f"citizen {n}", tally, citizen, base_url, n),
                                daemon=True) for n in range(citizens)]
    threads += [threading.Thread(target=_guarded, daemon=True,
                                 args=(o.username, tally, officer_work, base_url, o, 100 + n))
                for n, o in enumerate(officers)]
    for thread in threads:
        thread.start()
    return threads
