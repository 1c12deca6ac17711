"""Submit throughput: complete citizen submissions per second through gunicorn, against a bare baseline.

    .venv/bin/python bench/submit.py [--quick] [--database-url URL] [--clients 4] [--rounds 5]

A fresh instance is made (schema, then `flask --app wsgi setup`), served by gunicorn with 2 sync workers
on 127.0.0.1 with the project's gunicorn.conf.py; the baseline (bench/baseline_app.py: parse a form of
the same size, insert and commit one row, same engine settings) is served the same way. Client
processes each repeat: GET the form (CSRF token and session cookie), POST it (multipart, ~1,500 Thai
characters of details, service, rating, contact), follow its 303 to the receipt page (issue 11: one
request more per submission) and check that holds id="case-token". Rounds
alternate between the two servers; the figure is the median of the rounds' submissions per second.
Rate limiting is switched off (INTAKE_RATELIMIT_ENABLED=false): the limits would decide the figure.
Target: intake at least half the baseline.
"""

from __future__ import annotations

import http.client
import multiprocessing
import re
import secrets
import time
from contextlib import ExitStack
from typing import Any

import baseline_app
import benchlib
import thai_text
from sqlalchemy import func, select

from intake.db import make_engine
from intake.models import Case

CSRF = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"')
TOKEN = re.compile(rb'id="case-token"[^>]*>\s*([^<\s]+)')


def form_fields() -> dict[str, str]:
    details = " ".join(thai_text.FEEDBACK * 4)[:1500]
    return {
        "service": "งานเก็บขยะ",
        "rating": "2",
        "details": details,
        "contact": "081-234-5678",
        "website": "",
    }


def multipart(fields: dict[str, str]) -> tuple[bytes, str]:
    boundary = "----bench" + secrets.token_hex(8)
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="attachments"; filename=""\r\n'
        "Content-Type: application/octet-stream\r\n\r\n\r\n".encode()
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _request(port: int, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> Any:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        return response.status, response.getheader("Set-Cookie"), data
    finally:
        conn.close()


def client(job: tuple[int, str, int]) -> dict[str, Any]:
    """One citizen after another: GET the form, POST it, GET the receipt it leads to (a 303 since issue 11).
    Returns latencies and failures."""
    port, path, count = job
    fields = form_fields()
    latencies, failures, tokens = [], 0, []
    for _ in range(count):
        start = time.perf_counter()
        status, cookie, page = _request(port, "GET", path, None, {})
        match = CSRF.search(page)
        if status != 200 or not match:
            failures += 1
            continue
        body, ctype = multipart({"csrf_token": match.group(1).decode(), **fields})
        headers = {"Content-Type": ctype}
        if cookie:
            headers["Cookie"] = cookie.split(";", 1)[0]
        status, receipt_cookie, page = _request(port, "POST", path, body, headers)
        if status == 303 and receipt_cookie:  # to the receipt page, with the cookie that opens it
            cookies = (headers.get("Cookie"), receipt_cookie.split(";", 1)[0])
            headers = {"Cookie": "; ".join(c for c in cookies if c)}
            status, _, page = _request(port, "GET", "/receipt", None, headers)
        latencies.append(time.perf_counter() - start)
        token = TOKEN.search(page)
        if status != 200 or not token:
            failures += 1
        else:
            tokens.append(token.group(1).decode())
    return {"latencies": latencies, "failures": failures, "tokens": len(tokens)}


def run_round(pool: Any, server: benchlib.Server, path: str, clients: int, per_client: int) -> dict[str, Any]:
    workers = server.worker_pids()
    cpu = benchlib.cpu_seconds(workers)
    start = time.perf_counter()
    results = pool.map(client, [(server.port, path, per_client)] * clients)
    elapsed = time.perf_counter() - start
    cpu = benchlib.cpu_seconds(workers) - cpu
    latencies = [x for r in results for x in r["latencies"]]
    ok = sum(r["tokens"] for r in results)
    return {
        "per_s": ok / elapsed,
        "latencies": latencies,
        "failures": sum(r["failures"] for r in results),
        "ok": ok,
        "worker_cpu_per_submission_s": cpu / max(1, ok),
    }


def main() -> None:
    p = benchlib.parser(__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=4, help="concurrent client processes")
    p.add_argument("--rounds", type=int, default=None)
    p.add_argument("--per-client", type=int, default=None, help="submissions per client and round")
    p.add_argument("--workers", type=int, default=None, help="gunicorn workers (default 2; 1 with --quick)")
    args = p.parse_args()
    rounds = args.rounds or (1 if args.quick else 5)
    per_client = args.per_client or (3 if args.quick else 60)
    clients = min(args.clients, 2) if args.quick else args.clients
    args.workers = args.workers or (1 if args.quick else 2)
    r = benchlib.Results("submit", args)
    inst = benchlib.instance_for("submit", args.database_url, args.data_dir)
    base = benchlib.instance_for("submit-baseline", args.database_url, args.data_dir)
    inst.create()
    base.create()
    baseline_url = base.database_url.replace("intake.sqlite3", "baseline.sqlite3")
    baseline_app.create_table(baseline_url)
    env = inst.env(ADMIN_PASSWORD=benchlib.PASSWORD, RECOVERY_PASSPHRASE=benchlib.RECOVERY)
    env["INTAKE_WORKERS"] = str(args.workers)
    benchlib.flask_command(
        env, "setup", "--admin", benchlib.ADMIN, "--recovery-key-out", str(inst.recovery_key)
    )
    extra = benchlib.GUNICORN_CONF_ARGS
    base_env = dict(env, BENCH_BASELINE_DATABASE_URL=baseline_url)
    logs = args.data_dir / "logs"
    series: dict[str, list[dict[str, Any]]] = {"intake": [], "baseline": []}
    try:
        with ExitStack() as stack:
            real = stack.enter_context(
                benchlib.gunicorn(
                    "wsgi:app", env, workers=args.workers, log=logs / "submit.log", extra_args=extra
                )
            )
            bare = stack.enter_context(
                benchlib.gunicorn(
                    "bench.baseline_app:app",
                    base_env,
                    workers=args.workers,
                    log=logs / "baseline.log",
                    extra_args=extra,
                )
            )
            ctx = multiprocessing.get_context("fork")
            with ctx.Pool(clients) as pool:
                run_round(pool, real, "/report/feedback", clients, 2)  # warm-up
                run_round(pool, bare, "/form", clients, 2)
                for _ in range(rounds):
                    series["intake"].append(run_round(pool, real, "/report/feedback", clients, per_client))
                    series["baseline"].append(run_round(pool, bare, "/form", clients, per_client))
        engine = make_engine(inst.database_url)
        with engine.connect() as conn:
            stored = conn.scalar(select(func.count()).select_from(Case))
        engine.dispose()
    finally:
        inst.destroy()
        base.destroy()
    r.figure("clients", clients)
    r.figure("workers", args.workers)
    r.figure("submissions_per_round", clients * per_client)
    summary = {}
    for name, rs in series.items():
        lat = [x for one in rs for x in one["latencies"]]
        summary[name] = {
            "per_s": benchlib.median([one["per_s"] for one in rs]),
            "per_s_rounds": [round(one["per_s"], 1) for one in rs],
            "p50_s": benchlib.median(lat),
            "p95_s": benchlib.percentile(lat, 95),
            "failures": sum(one["failures"] for one in rs),
            "ok": sum(one["ok"] for one in rs),
            "worker_cpu_per_submission_s": benchlib.median(
                [one["worker_cpu_per_submission_s"] for one in rs]
            ),
        }
        s = summary[name]
        print(
            f"   {name}: {s['per_s']:.1f} submissions/s (rounds {s['per_s_rounds']}), GET+POST p50 "
            f"{benchlib.ms(s['p50_s'])}, p95 {benchlib.ms(s['p95_s'])}, failures {s['failures']}, "
            f"server CPU per submission {benchlib.ms(s['worker_cpu_per_submission_s'])}"
        )
    r.figures["throughput"] = summary
    expected = summary["intake"]["ok"] + clients * 2  # + warm-up
    r.figure("cases_stored", stored, f"cases stored (tokens received {expected})")
    if stored != expected or summary["intake"]["failures"]:
        print("   WARNING: stored cases and received tokens differ, or requests failed")
    ratio = summary["intake"]["per_s"] / summary["baseline"]["per_s"]
    r.target("intake / baseline submissions per second", ratio, 0.5, at_least=True)
    r.finish()


if __name__ == "__main__":
    main()
