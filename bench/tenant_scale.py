"""Tenant scale: one tenant among many (10,000 tenants, 10,000,000 cases) against the same tenant alone.

    .venv/bin/python bench/tenant_scale.py --database-url URL [--tenants 10000] [--cases 10000000] [--quick]

Data (bench/tenantgen.py, cached in the data folder): a database of T tenants and N cases spread over
them (each tenant's rows under its own keys), and a database holding only the first of those tenants with
the very same cases (same plans, numbers and tokens): "the same tenant alone in a database". On
PostgreSQL the app connects as the database's owner role, which is no superuser, so row-level security
applies to every measured query (the script checks it: a raw count with no tenant set sees nothing).

Measured in the same run, the two databases interleaved round by round (p50 of the whole request):
- queue: the officer "pr" (feedback, question) signed in on the tenant's host, GET /officer/queue and
  the channel+status view; target within 1.5x of alone;
- tracking: POST /track with the tenant's own tokens (the same sample on both); target 1.5x;
- quarterly report: `figures.compute` for the last complete quarter, in the tenant's scope; target 1.5x;
  with PostgreSQL on this machine, also the CPU its server process spends on one report (/proc);
- national figures (the many-tenant database only): `national.compute` for that quarter (every tenant's
  own report counts, the small-count rule) against the very statements it sends, captured from the
  engine and replayed on a bare DBAPI cursor ("the same grouped SQL run by hand"); target 2x. A single
  grouped statement over every tenant at once (the floor: one pass, no per-tenant scope) is timed too,
  and its country totals are checked against national.compute's;
- submit: citizen submissions (GET the form, POST it, GET the receipt) to the tenant, per second; target:
  with many tenants no worse than alone (ratio >= 0.9: this shared machine's noise between rounds);
- tenant lookup: loading the per-process cache of T tenants, one cached lookup by host name (against a
  plain dict lookup), and GET / with T tenants against alone, in CPU seconds of this process per request
  (wall time on a machine shared by several people measures mostly the neighbours).
"""

from __future__ import annotations

import random
import re
import statistics
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import benchlib
import tenantgen
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, text

from intake import dates, db, tenancy
from intake.models import CLOSED_STATUSES
from intake.reports import figures, national, periods

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
HOST = "http://" + tenantgen.host_of(0)
QUEUE_VIEWS = {
    "queue": "/officer/queue",
    "queue channel+status": "/officer/queue?channel=feedback&status=in_progress",
}

# The national counts by hand, every tenant in one statement (host scope): received in the quarter or
# carried over (open at its start), by tenant, channel and status at the quarter's end. The same
# definitions as figures._count_rows (a case's status is that of its last status entry before a moment).
FLOOR_SQL = """
WITH per_case AS {materialized} (
  SELECT c.tenant_id, c.channel, c.received_at,
    CASE WHEN c.received_at < :start THEN (
      SELECT e.status FROM entries e WHERE e.case_id = c.id AND e.kind = 'status' AND e.at < :start
      ORDER BY e.at DESC, e.id DESC LIMIT 1) END AS s0,
    (SELECT e.status FROM entries e WHERE e.case_id = c.id AND e.kind = 'status' AND e.at < :end
     ORDER BY e.at DESC, e.id DESC LIMIT 1) AS s1
  FROM cases c WHERE c.received_at < :end AND c.duplicate_of_id IS NULL)
SELECT tenant_id, channel, CASE WHEN received_at >= :start THEN 1 ELSE 0 END AS in_period,
  COALESCE(s1, 'new') AS status, count(*) AS n
FROM per_case WHERE received_at >= :start OR s0 IS NULL OR s0 NOT IN ({closed})
GROUP BY tenant_id, channel, CASE WHEN received_at >= :start THEN 1 ELSE 0 END, COALESCE(s1, 'new')
"""


def last_quarter(now: datetime) -> periods.Period:
    """The last fiscal quarter that ended before `now`."""
    year = dates.fiscal_year_of(now)
    ended = [periods.period(fy, code) for fy in (year - 1, year) for code in ("q1", "q2", "q3", "q4")]
    return max((q for q in ended if q.end <= now), key=lambda q: q.end)


class Tenant:
    """One data set's first tenant, seen through the app as a citizen and as its officer "pr"."""

    def __init__(self, app: Flask, tokens: list[str]) -> None:
        self.app = app
        self.tokens = tokens
        self.officer = self._signed_in()
        self.citizen = app.test_client()
        page = self.citizen.get("/track", base_url=HOST).get_data(as_text=True)
        match = CSRF.search(page)
        assert match, "no CSRF token on /track"
        self.track_csrf = match.group(1)
        self.submitted = 0

    def _signed_in(self) -> FlaskClient:
        client = self.app.test_client()
        page = client.get("/officer/login", base_url=HOST).get_data(as_text=True)
        match = CSRF.search(page)
        assert match, "no CSRF token on /officer/login"
        response = client.post(
            "/officer/login", base_url=HOST,
            data={"csrf_token": match.group(1), "username": "pr", "password": benchlib.OFFICER_PASSWORD},
        )  # fmt: skip
        assert response.status_code in (302, 303), f"sign-in failed: {response.status_code}"
        return client

    def queue(self, url: str) -> None:
        response = self.officer.get(url, base_url=HOST)
        response.get_data()
        assert response.status_code == 200, response.status_code

    def track(self, token: str) -> None:
        fields = {"csrf_token": self.track_csrf, "token": token}
        response = self.citizen.post("/track", base_url=HOST, data=fields)
        body = response.get_data()
        assert response.status_code == 200 and b'id="case-status"' in body, response.status_code

    def report(self, p: periods.Period, as_of: datetime) -> None:
        with self.app.app_context():
            session = db.session()
            try:
                figures.compute(session, p, as_of)
            finally:
                session.close()

    def report_server_cpu(self, p: periods.Period, as_of: datetime) -> float | None:
        """CPU seconds the database server's process spent on one report (its /proc schedstat, so only
        with PostgreSQL on this machine and readable; None otherwise)."""
        with self.app.app_context():
            session = db.session()
            try:
                if session.get_bind().dialect.name != "postgresql":
                    return None
                pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
                stat = Path(f"/proc/{pid}/schedstat")
                if not stat.exists():
                    return None
                before = int(stat.read_text().split()[0])
                figures.compute(session, p, as_of)
                return (int(stat.read_text().split()[0]) - before) * 1e-9
            except OSError:
                return None
            finally:
                session.close()

    def submit(self) -> None:
        client = self.app.test_client()
        page = client.get("/report/feedback", base_url=HOST).get_data(as_text=True)
        match = CSRF.search(page)
        assert match, "no CSRF token on /report/feedback"
        self.submitted += 1
        fields = {"csrf_token": match.group(1), "service": "งานเก็บขยะ", "rating": "2", "website": "",
                  "details": f"ถนนหน้าบ้านเลขที่ {self.submitted} {random.random()} มีน้ำท่วมขังหลังฝนตก"}  # noqa: S311
        response = client.post("/report/feedback", base_url=HOST, data=fields)
        assert response.status_code == 303, response.status_code
        receipt = client.get(response.headers["Location"], base_url=HOST)
        assert receipt.status_code == 200 and b'id="case-token"' in receipt.get_data(), receipt.status_code

    def home(self) -> None:
        response = self.citizen.get("/", base_url=HOST)
        response.get_data()
        assert response.status_code == 200, response.status_code


def cpu_timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    return benchlib.timed(fn, repeat, warmup=0, clock=time.process_time)


def interleaved(
    sides: dict[str, Tenant], call: Callable[[Tenant, int], None], rounds: int, per_round: int,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, list[float]]:
    """Seconds per `call(side, i)` of each side, `per_round` calls a round, the sides' order alternating."""
    times: dict[str, list[float]] = {name: [] for name in sides}
    names = list(sides)
    for r in range(rounds):
        for name in names if r % 2 == 0 else reversed(names):
            for k in range(per_round):
                start = clock()
                call(sides[name], r * per_round + k)
                times[name].append(clock() - start)
    return times


def check_rls(app: Flask) -> str:
    """On PostgreSQL: the app's role is no superuser and a raw count with no tenant set sees nothing."""
    with app.app_context():
        engine = db.engine()
        if engine.dialect.name != "postgresql":
            return "SQLite (no row-level security)"
        with engine.connect() as conn:
            role, is_super = conn.execute(
                text("SELECT rolname, rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")
            ).one()
            seen = conn.execute(text("SELECT count(*) FROM cases")).scalar_one()
            forced = conn.execute(
                text("SELECT relforcerowsecurity FROM pg_class WHERE relname = 'cases'")
            ).scalar_one()
    if is_super or seen or not forced:
        raise SystemExit(f"row-level security is not in force for {role} (superuser {is_super}, sees {seen})")
    return f"on (role {role}: no superuser; a raw count with no tenant set sees 0 cases)"


def national_parts(app: Flask, p: periods.Period, as_of: datetime, passes: int) -> dict[str, Any]:
    """national.compute timed (the best of `passes`), the statements it sent replayed bare, and the
    one-statement floor."""
    captured: list[tuple[str, Any]] = []

    def listener(_conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, _many: bool) -> None:
        captured.append((statement, parameters))

    with app.app_context():
        engine = db.engine()
        session = db.session()
        tenancy.activate(None)
        event.listen(engine, "before_cursor_execute", listener)
        start = time.perf_counter()
        result = national.compute(session, p, as_of)
        compute_s = time.perf_counter() - start
        event.remove(engine, "before_cursor_execute", listener)
        session.close()
        for _ in range(passes - 1):  # again, with what the first pass read now in memory
            session = db.session()
            tenancy.activate(None)
            start = time.perf_counter()
            national.compute(session, p, as_of)
            compute_s = min(compute_s, time.perf_counter() - start)
            session.close()
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            start = time.perf_counter()
            for statement, parameters in captured:
                cur.execute(statement, parameters)
                if cur.description is not None:
                    cur.fetchall()
            replay_s = time.perf_counter() - start
            raw.rollback()
        finally:
            raw.close()
        closed = ", ".join(f"'{s}'" for s in CLOSED_STATUSES)
        sql = FLOOR_SQL.format(materialized="MATERIALIZED" if engine.dialect.name == "postgresql" else "",
                               closed=closed)  # fmt: skip
        with engine.connect() as conn:
            tenancy.act_as_host(conn)
            start = time.perf_counter()
            rows = conn.execute(text(sql), {"start": p.start, "end": p.end}).all()
            floor_s = time.perf_counter() - start
    country = {r.channel: r.counts for r in result.rows if r.level == "country"}
    by_hand: dict[str, list[int]] = {}
    for _tenant, channel, in_period, _status, n in rows:
        by_hand.setdefault(channel, [0, 0])[0 if in_period else 1] += n
    agrees = all(
        by_hand.get(c, [0, 0]) == [counts.received, counts.carried_over] for c, counts in country.items()
    )
    tenants = len({r.slug for r in result.rows if r.level == "tenant"})
    return {"compute_s": compute_s, "replay_s": replay_s, "floor_s": floor_s, "statements": len(captured),
            "floor_agrees": agrees, "tenants": tenants}  # fmt: skip


def lookup_figures(app: Flask, tenants: int, r: benchlib.Results) -> None:
    benchlib.host_lookup_figures(app, [tenantgen.host_of(i) for i in range(tenants)], r, 20_000, digits=3)


def main() -> None:
    p = benchlib.parser(__doc__.splitlines()[0])
    p.add_argument("--tenants", type=int, default=10_000)
    p.add_argument("--cases", type=int, default=10_000_000)
    p.add_argument("--workers", type=int, default=2, help="processes generating the data (PostgreSQL)")
    p.add_argument("--rounds", type=int, default=None)
    p.add_argument("--skip-national", action="store_true", help="leave out the national figures")
    p.add_argument("--national-only", action="store_true", help="only the national figures")
    p.add_argument("--national-passes", type=int, default=2, help="runs of national.compute (best counts)")
    args = p.parse_args()
    n_tenants, n_cases = (20, 2_000) if args.quick else (args.tenants, args.cases)
    rounds = args.rounds or (2 if args.quick else 6)
    per = 3 if args.quick else 10
    r = benchlib.Results("tenant_scale", args)
    many_inst, many = tenantgen.ensure(args.database_url, args.data_dir, n_tenants, n_cases,
                                       workers=args.workers, fresh=args.fresh)  # fmt: skip
    now = datetime.fromisoformat(many["now"])
    alone_inst, alone = tenantgen.ensure(args.database_url, args.data_dir, n_tenants, n_cases, alone=True,
                                         workers=args.workers, now=now, fresh=args.fresh)  # fmt: skip
    r.figure("tenants", many["tenants"])
    r.figure("cases", many["cases"])
    r.figure("entries", many.get("entries"))
    r.figure("first_tenant_cases", alone["cases"], "cases of the measured tenant (in both databases)")
    r.figure("generation", {k: many.get(k) for k in ("tenants_s", "load_s", "index_s", "generation_s",
                                                      "cases_per_s")})  # fmt: skip
    apps = {"alone": alone_inst.app(), "many": many_inst.app()}
    r.figure("row_level_security", check_rls(apps["many"]))
    check_rls(apps["alone"])
    rng = random.Random(7)  # noqa: S311 - choosing cases to look up
    sample = [tenantgen.token_of(0, rng.randint(1, alone["cases"])) for _ in range(rounds * per)]
    quarter = last_quarter(now)
    r.figure("quarter", f"{quarter.fiscal_year} {quarter.code}")
    if not args.national_only:
        one_tenant(args, r, apps, sample, quarter, now, rounds, per)
        tenant_lookup(args, r, apps, many["tenants"], rounds, per)
    if not args.skip_national:
        parts = national_parts(apps["many"], quarter, now, args.national_passes)
        r.figures["national"] = parts
        print(f"   national figures of {parts['tenants']:,} tenants: {parts['compute_s']:.1f} s; the same "
              f"{parts['statements']:,} statements replayed bare {parts['replay_s']:.1f} s; one statement "
              f"over every tenant {parts['floor_s']:.1f} s (totals agree: {parts['floor_agrees']})")
        r.target("national figures vs the same SQL by hand", parts["compute_s"] / parts["replay_s"], 2.0)
    r.figure("load_after", benchlib.machine()["load"], "load average at the end")
    r.finish()


def one_tenant(
    args: Any, r: benchlib.Results, apps: dict[str, Flask], sample: list[str], quarter: periods.Period,
    now: datetime, rounds: int, per: int,
) -> None:
    """Queue, tracking, quarterly report and submissions of the first tenant, alone and among many."""
    n_tenants = r.figures["tenants"]
    sides = {name: Tenant(app, sample) for name, app in apps.items()}
    for side in sides.values():  # warm-up: connections, templates, caches
        for url in QUEUE_VIEWS.values():
            side.queue(url)
        side.track(sample[0])
        side.report(quarter, now)
    results: dict[str, dict[str, list[float]]] = {}
    for view, url in QUEUE_VIEWS.items():
        results[view] = interleaved(sides, lambda s, _i, u=url: s.queue(u), rounds, per)  # type: ignore[misc]
    results["tracking"] = interleaved(sides, lambda s, i: s.track(sample[i]), rounds, per)
    report_per = 1 if args.quick else 3
    results["quarterly report"] = interleaved(sides, lambda s, _i: s.report(quarter, now), rounds, report_per)
    summary: dict[str, Any] = {}
    for what, times in results.items():
        p50 = {name: benchlib.median(v) for name, v in times.items()}
        ratio = p50["many"] / p50["alone"]
        summary[what] = {"p50_alone_s": p50["alone"], "p50_many_s": p50["many"], "ratio": round(ratio, 3),
                         "p95_many_s": benchlib.percentile(times["many"], 95)}  # fmt: skip
        print(f"   {what}: p50 {benchlib.ms(p50['alone'])} alone vs {benchlib.ms(p50['many'])} among "
              f"{n_tenants:,} tenants")  # fmt: skip
    r.figures["one_tenant"] = summary
    server = server_cpu(sides, quarter, now, rounds, report_per)
    if server is not None:
        summary["quarterly report"].update(server)
        ratio = server["server_cpu_many_s"] / server["server_cpu_alone_s"]
        print(f"   quarterly report, database server CPU: p50 {benchlib.ms(server['server_cpu_alone_s'])} "
              f"alone vs {benchlib.ms(server['server_cpu_many_s'])} among {n_tenants:,} (ratio {ratio:.2f})")
    for what in results:
        r.target(f"{what}: among {n_tenants:,} tenants vs alone", summary[what]["ratio"], 1.5)
    # Submissions: a whole citizen submission per round-robin slot, throughput per side.
    sub = interleaved(sides, lambda s, _i: s.submit(), rounds, per)
    per_s = {name: 1 / statistics.mean(v) for name, v in sub.items()}
    r.figures["submit_per_s"] = {k: round(v, 2) for k, v in per_s.items()}
    print(f"   submit: {per_s['alone']:.1f}/s alone vs {per_s['many']:.1f}/s among {n_tenants:,} tenants")
    ratio = per_s["many"] / per_s["alone"]
    r.target("submissions per second, among many vs alone", ratio, 0.9, at_least=True)


def server_cpu(
    sides: dict[str, Tenant], quarter: periods.Period, now: datetime, rounds: int, per: int
) -> dict[str, float] | None:
    """The database server's CPU per quarterly report (p50 of each side, interleaved): where the report's
    difference lies, apart from waiting for a core on a shared machine. None without a readable server."""
    cpu: dict[str, list[float]] = {name: [] for name in sides}
    for k in range(rounds):
        for name in sides if k % 2 == 0 else reversed(list(sides)):
            for _ in range(per):
                got = sides[name].report_server_cpu(quarter, now)
                if got is None:
                    return None
                cpu[name].append(got)
    return {f"server_cpu_{name}_s": benchlib.median(v) for name, v in cpu.items()}


def tenant_lookup(
    args: Any, r: benchlib.Results, apps: dict[str, Flask], tenants: int, rounds: int, per: int
) -> None:
    """The cache of tenants, and GET / in CPU seconds of this process, with T tenants and with 1."""
    n_tenants = tenants
    sides = {name: Tenant(app, []) for name, app in apps.items()}
    for side in sides.values():
        side.home()
    lookup_figures(apps["many"], tenants, r)
    home = interleaved(sides, lambda s, _i: s.home(), rounds * 3, per, time.process_time)
    home_alone, home_many = benchlib.median(home["alone"]), benchlib.median(home["many"])
    r.figure("home_cpu_alone_s", home_alone, "GET / CPU per request, 1 tenant")
    r.figure("home_cpu_many_s", home_many, f"GET / CPU per request, {n_tenants:,} tenants")
    r.figure("lookup_share_of_request", round(r.figures["lookup_us"] * 1e-6 / home_many, 6),
             "one cached lookup / one GET /")  # fmt: skip
    r.target(f"GET / with {n_tenants:,} tenants vs 1 (CPU)", home_many / home_alone, 1.1)


if __name__ == "__main__":
    main()
