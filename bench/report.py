"""Report: a fiscal year's figures over 1,000,000 cases against the same grouped SQL run directly.

    .venv/bin/python bench/report.py [--quick] [--database-url URL] [--sizes 10000,1000000]
                                     [--fiscal-year 2569] [--period year]

Time: `intake.reports.figures.compute(session, period)` (what the report page, the CLI and every format
call) against the very SQL statements it issues (captured from the engine) replayed through a bare DBAPI
cursor on the same database, fetching every row: the ratio is what the ORM and Python assembly add
(target: within 2x). For scale, a one-line hand-written GROUP BY of the period's received cases is also
timed: it is the floor (one pass over the period's rows) and the figures' history queries cost more.
Memory: each size's report runs in a fresh subprocess that reports tracemalloc's peak during compute()
and the growth of ru_maxrss (peak RSS) across it; target: the peak at the large size within 1.2x of the
peak at the small one.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import tracemalloc
from typing import Any

import benchlib
import datagen
from sqlalchemy import event, text

from intake import dates, db
from intake.reports import figures, periods

FLOOR_SQL = (
    "SELECT channel, status, count(*) FROM cases WHERE received_at >= :start AND received_at < :end "
    "GROUP BY channel, status"
)


def capture_sql(app: Any, period: Any) -> list[tuple[str, Any]]:
    """The statements compute() sends to the database, with their parameters."""
    captured: list[tuple[str, Any]] = []

    def listener(_conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, _many: bool) -> None:
        captured.append((statement, parameters))

    with app.app_context():
        engine = db.engine()
        event.listen(engine, "before_cursor_execute", listener)
        try:
            figures.compute(db.session(), period)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
    return captured


def run_direct(app: Any, statements: list[tuple[str, Any]]) -> int:
    """Replay the captured statements on a bare DBAPI connection; returns the number of rows fetched."""
    rows = 0
    with app.app_context():
        raw = db.engine().raw_connection()
        try:
            cur = raw.cursor()
            for statement, parameters in statements:
                cur.execute(statement, parameters)
                rows += len(cur.fetchall())
            cur.close()
            raw.rollback()
        finally:
            raw.close()
    return rows


def run_compute(app: Any, period: Any) -> Any:
    with app.app_context():
        session = db.session()
        try:
            return figures.compute(session, period)
        finally:
            session.close()


def run_floor(app: Any, period: Any) -> int:
    with app.app_context():
        session = db.session()
        try:
            return len(session.execute(text(FLOOR_SQL), {"start": period.start, "end": period.end}).all())
        finally:
            session.close()


def memory_child(args: Any) -> None:
    """In a fresh process: peak memory of one compute() at one size (JSON on stdout)."""
    ds = datagen.ensure(args.memory_child, database_url=args.database_url, data_dir=args.data_dir, log=False)
    app = ds.instance.app()
    period = periods.period(args.fiscal_year, args.period)
    run_floor(app, period)  # imports, connection, schema loaded before measuring
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    start = time.perf_counter()
    report = run_compute(app, period)
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = {
        "tracemalloc_peak_kib": peak // 1024,
        "maxrss_before_kib": before,
        "maxrss_after_kib": after,
        "maxrss_growth_kib": after - before,
        "received": report.total.received,
        "seconds_with_tracemalloc": round(elapsed, 3),
    }
    print(json.dumps(out))


def main() -> None:
    p = benchlib.parser(__doc__.splitlines()[0])
    p.add_argument("--sizes", default=None, help="small,large case counts (default 10000,1000000)")
    p.add_argument("--fiscal-year", type=int, default=None, help="BE year (default: the last complete one)")
    p.add_argument("--period", default="year")
    p.add_argument("--rounds", type=int, default=None)
    p.add_argument("--memory-child", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.fiscal_year is None:
        args.fiscal_year = dates.fiscal_year_of(dates.now()) - 1
    if args.memory_child:
        memory_child(args)
        return
    small, large = (
        int(x) for x in (args.sizes or ("300,3000" if args.quick else "10000,1000000")).split(",")
    )
    rounds = args.rounds or (2 if args.quick else 5)
    r = benchlib.Results("report", args)
    r.figure("fiscal_year", args.fiscal_year)
    r.figure("period", args.period)
    sets = datagen.ensure_sizes(args, (small, large))
    period = periods.period(args.fiscal_year, args.period)
    apps = {size: ds.instance.app() for size, ds in sets.items()}
    statements = {size: capture_sql(app, period) for size, app in apps.items()}
    times: dict[int, dict[str, list[float]]] = {s: {"compute": [], "direct": [], "floor": []} for s in sets}
    received = {}
    for _ in range(rounds):
        for size, app in apps.items():
            start = time.perf_counter()
            report = run_compute(app, period)
            times[size]["compute"].append(time.perf_counter() - start)
            received[size] = report.total.received
            start = time.perf_counter()
            run_direct(app, statements[size])
            times[size]["direct"].append(time.perf_counter() - start)
            start = time.perf_counter()
            run_floor(app, period)
            times[size]["floor"].append(time.perf_counter() - start)
    summary: dict[str, Any] = {}
    for size in (small, large):
        med = {k: benchlib.median(v) for k, v in times[size].items()}
        summary[str(size)] = {
            "compute_s": med["compute"],
            "direct_sql_s": med["direct"],
            "floor_group_by_s": med["floor"],
            "statements": len(statements[size]),
            "received_in_period": received[size],
            "ratio_compute_direct": round(med["compute"] / med["direct"], 3),
        }
        print(
            f"   {size:,} cases ({received[size]:,} received in FY {args.fiscal_year} {args.period}): "
            f"compute {benchlib.ms(med['compute'])}, same SQL direct {benchlib.ms(med['direct'])} "
            f"({len(statements[size])} statements), ratio {med['compute'] / med['direct']:.3f}; "
            f"one-pass GROUP BY floor {benchlib.ms(med['floor'])}"
        )
    r.figures["time"] = summary
    growth = summary[str(large)]["compute_s"] / summary[str(small)]["compute_s"]
    print(f"   compute time {large:,} / {small:,}: {growth:.1f}x for {large / small:.0f}x the cases")
    memory: dict[str, Any] = {}
    for size in (small, large):
        child = subprocess.run(
            [benchlib.PY, __file__, "--memory-child", str(size), "--data-dir", str(args.data_dir),
             "--fiscal-year", str(args.fiscal_year), "--period", args.period]
            + (["--database-url", args.database_url] if args.database_url else []),
            capture_output=True, text=True, check=True, cwd=benchlib.ROOT,
        )  # fmt: skip
        memory[str(size)] = json.loads(child.stdout.strip().splitlines()[-1])
        m = memory[str(size)]
        print(
            f"   memory @ {size:,}: tracemalloc peak {m['tracemalloc_peak_kib']:,} KiB, peak RSS "
            f"{m['maxrss_after_kib']:,} KiB (grew {m['maxrss_growth_kib']:,} KiB during compute)"
        )
    r.figures["memory"] = memory
    r.target(f"compute / same SQL direct @ {large:,}", summary[str(large)]["ratio_compute_direct"], 2.0)
    ms_, ml = memory[str(small)], memory[str(large)]
    r.target(
        f"tracemalloc peak {large:,} / {small:,}",
        ml["tracemalloc_peak_kib"] / max(1, ms_["tracemalloc_peak_kib"]),
        1.2,
    )
    r.target(f"peak RSS {large:,} / {small:,}", ml["maxrss_after_kib"] / max(1, ms_["maxrss_after_kib"]), 1.2)
    r.finish()




if __name__ == "__main__":
    start = time.perf_counter()
    main()
    if "--memory-child" not in sys.argv:
        print(f"   ({time.perf_counter() - start:.1f} s)")
