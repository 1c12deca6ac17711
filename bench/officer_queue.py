"""Officer queue: page p50 with 1,000 and with 100,000 cases of the officer's channels (target: 1.5x).

    .venv/bin/python bench/officer_queue.py [--quick] [--database-url URL] [--sizes 1000,100000]

Data sets (datagen.py, mix "pr"): the given number of cases in the feedback and question channels, plus
one corruption case for every ten, which this officer must never see. The officer "pr" holds feedback and
question only, so signs in with a password (no TOTP step), through the Flask test client with CSRF on.
Views timed, interleaved between the sizes round by round: the default queue (/officer/queue: open
cases), and filtered ones (one channel and status; open cases only; overdue only; every status).
p50 and p95 of the whole GET.
"""

from __future__ import annotations

import re
import time
from typing import Any

import benchlib
import datagen
from flask.testing import FlaskClient

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
VIEWS = {
    "default": "/officer/queue",
    "channel+status": "/officer/queue?channel=feedback&status=in_progress",
    "open": "/officer/queue?status=open",
    "overdue": "/officer/queue?overdue=1",
    "all statuses": "/officer/queue?status=all",
}
TARGETED = ("default", "channel+status")


def signed_in(ds: datagen.Dataset) -> FlaskClient:
    app = ds.instance.app()
    client = app.test_client()
    page = client.get("/officer/login").get_data(as_text=True)
    match = CSRF.search(page)
    assert match, "no CSRF token on /officer/login"
    response = client.post(
        "/officer/login",
        data={"csrf_token": match.group(1), "username": "pr", "password": benchlib.OFFICER_PASSWORD},
    )
    assert response.status_code in (302, 303), f"sign-in failed: {response.status_code}"
    check = client.get("/officer/queue")
    assert check.status_code == 200, f"queue answered {check.status_code}"
    return client


def time_view(client: FlaskClient, url: str, count: int) -> list[float]:
    out = []
    for _ in range(count):
        start = time.perf_counter()
        response = client.get(url)
        response.get_data()
        out.append(time.perf_counter() - start)
        assert response.status_code == 200, response.status_code
    return out


def main() -> None:
    p = benchlib.parser(__doc__.splitlines()[0])
    p.add_argument("--sizes", default=None, help="small,large cases in the officer's channels")
    p.add_argument("--rounds", type=int, default=None)
    p.add_argument("--per-round", type=int, default=None, help="requests per view, size and round")
    args = p.parse_args()
    small, large = (int(x) for x in (args.sizes or ("100,1000" if args.quick else "1000,100000")).split(","))
    rounds = args.rounds or (2 if args.quick else 7)
    per_round = args.per_round or (3 if args.quick else 15)
    r = benchlib.Results("officer_queue", args)
    sets = datagen.ensure_sizes(args, (small, large), mix="pr", extra=10)
    for size, ds in sets.items():
        counts = ds.manifest["counts"]
        print(f"   data set {size:,}: {counts} (officer 'pr' holds feedback and question)")
    clients = {size: signed_in(ds) for size, ds in sets.items()}
    times: dict[str, dict[int, list[float]]] = {view: {small: [], large: []} for view in VIEWS}
    for client in clients.values():
        for url in VIEWS.values():
            time_view(client, url, 2)  # warm-up
    for _ in range(rounds):
        for view, url in VIEWS.items():
            for size, client in clients.items():
                times[view][size].extend(time_view(client, url, per_round))
    summary: dict[str, Any] = {}
    for view, by_size in times.items():
        p50 = {s: benchlib.median(v) for s, v in by_size.items()}
        p95 = {s: benchlib.percentile(v, 95) for s, v in by_size.items()}
        ratio = p50[large] / p50[small]
        summary[view] = {"url": VIEWS[view], "p50_s": p50, "p95_s": p95, "ratio": round(ratio, 3)}
        print(
            f"   {view} ({VIEWS[view]}): p50 {benchlib.ms(p50[small])} @ {small:,} vs "
            f"{benchlib.ms(p50[large])} @ {large:,} (p95 {benchlib.ms(p95[small])} vs "
            f"{benchlib.ms(p95[large])}) ratio {ratio:.3f}"
        )
    r.figures["queue"] = summary
    for view in VIEWS:
        if view in TARGETED:
            r.target(f"queue {view} {large:,} vs {small:,}", summary[view]["ratio"], 1.5)
    r.finish()


if __name__ == "__main__":
    main()
