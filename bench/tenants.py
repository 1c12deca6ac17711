"""Tenants: what hosting many municipalities costs a request (target: nothing measurable).

    .venv/bin/python bench/tenants.py [--quick] [--database-url URL] [--tenants 10000]

One deployment with its first tenant (set up as `setup` does, with cases) and N-1 more tenants, each with
a host name (rows only: routing does not open a tenant's keys). Measured in the same run:
- the per-process cache of tenants and host names: loading it (once per TENANT_CACHE_SECONDS) and one
  lookup by host name, against a plain dict lookup of the same size (the floor);
- a request (GET /, the first tenant's home page) with 1 tenant and with N, interleaved round by round, in
  CPU seconds of this process (the work is the same: cProfile counts the same calls with 1 and N tenants);
- the seam: the queue's query (newest 50 cases) filtered by the session's tenant (intake/tenancy.py),
  against the same query with the tenant written by hand in host scope.
"""

from __future__ import annotations

import time

import benchlib
from flask import Flask
from sqlalchemy import insert, select

from intake import db, tenancy
from intake.models import Case, Tenant, TenantHost, TenantStatus
from tests.factories import Factory


def add_tenants(app: Flask, n: int) -> list[str]:
    """N more tenants with one host name each (bulk rows; their keys are never used here)."""
    hosts = [f"t{i}.intake.example.go.th" for i in range(n)]
    with app.app_context():
        session = db.session()
        tenancy.bind(session, tenancy.HOST)
        first = session.scalar(select(Tenant.id).order_by(Tenant.id.desc()).limit(1)) or 1
        rows = [
            {"id": first + 1 + i, "slug": f"t{i}", "name": f"เทศบาลตำบล {i}", "province": f"p{i % 76}",
             "status": TenantStatus.ACTIVE.value, "record_tag": b""}
            for i in range(n)
        ]
        for start in range(0, n, 2000):
            session.execute(insert(Tenant), rows[start : start + 2000])
            session.execute(
                insert(TenantHost),
                [{"host": hosts[i], "tenant_id": first + 1 + i} for i in range(start, min(n, start + 2000))],
            )
        session.commit()
        tenancy.forget()
    return hosts


def seed_cases(app: Flask, count: int) -> None:
    with app.app_context():
        factory = Factory(app, db.session())
        for i in range(count):
            factory.case("feedback", f"กรณีที่ {i}")


def request_time(app: Flask, rounds: int) -> list[float]:
    """CPU seconds of this process per GET / (wall time on a machine shared by several people measures
    mostly the neighbours: 1.20 and 1.83 for the same code at load 10-11)."""
    client = app.test_client()
    for _ in range(3):
        client.get("/")
    out = []
    for _ in range(rounds):
        start = time.process_time()
        client.get("/").get_data()
        out.append(time.process_time() - start)
    return out


def main() -> None:
    ap = benchlib.parser(__doc__ or "")
    ap.add_argument("--tenants", type=int, default=10_000)
    args = ap.parse_args()
    n = 200 if args.quick else args.tenants
    rounds = 30 if args.quick else 300
    r = benchlib.Results("tenants", args)
    single = benchlib.instance_for("tenants-1", args.database_url, args.data_dir)
    many = benchlib.instance_for(f"tenants-{n}", args.database_url, args.data_dir)
    try:
        apps: list[Flask] = []
        for inst in (single, many):
            inst.create()
            apps.append(inst.setup())
            seed_cases(apps[-1], 20 if args.quick else 200)
        alone, app = apps
        hosts = add_tenants(app, n - 1)
        benchlib.host_lookup_figures(app, hosts, r, 10_000)
        one: list[float] = []
        lots: list[float] = []
        for _ in range(10):  # interleaved, so that machine noise hits both alike
            one += request_time(alone, rounds // 10)
            lots += request_time(app, rounds // 10)
        p50_one, p50_many = benchlib.median(one), benchlib.median(lots)
        r.figure("request_1_tenant_s", p50_one, "GET / p50 with 1 tenant (CPU)")
        r.figure(f"request_{n}_tenants_s", p50_many, f"GET / p50 with {n} tenants (CPU)")
        r.target(f"GET / with {n} tenants vs 1", p50_many / p50_one, 1.1)
        with app.app_context():
            session = db.session()
            tenant_id = tenancy.current_id()
            queue = select(Case).order_by(Case.received_at.desc()).limit(50)

            def seam() -> None:
                session.scalars(queue).all()
                session.expunge_all()

            def by_hand() -> None:
                with tenancy.as_host(session):
                    session.scalars(queue.where(Case.tenant_id == tenant_id)).all()
                session.expunge_all()

            seamed: list[float] = []
            manual: list[float] = []
            for _ in range(5):
                seamed += benchlib.timed(seam, rounds // 5, warmup=2)
                manual += benchlib.timed(by_hand, rounds // 5, warmup=2)
        r.figure("queue_query_seam_s", benchlib.median(seamed), "newest 50 cases through the seam, p50")
        r.figure("queue_query_by_hand_s", benchlib.median(manual), "the same, tenant written by hand, p50")
        r.target("seam vs by hand", benchlib.median(seamed) / benchlib.median(manual), 1.2)
        r.finish()
    finally:
        single.destroy()
        many.destroy()


if __name__ == "__main__":
    main()
