"""Token lookup: tracking latency with 1,000 and with 1,000,000 cases (target: larger within 1.2x).

    .venv/bin/python bench/token_lookup.py [--quick] [--database-url URL] [--sizes 1000,1000000]

For each data set (made by datagen.py, cached), a fixed sample of tokens spread over the whole set is
looked up, interleaving the sizes round by round so that machine noise hits both alike:
- key derivation alone: tokens.lookup_hash (HMAC) + crypto.derive_citizen_key (HKDF), the same at any size;
- domain: cases.find_by_token in a fresh session (what one request does), and with citizen_timeline;
- page: POST /track through the Flask test client (CSRF on, the case page rendered, rate limits off).
"""

from __future__ import annotations

import contextlib
import random
import re
import time
from typing import Any

import benchlib
import datagen
from flask import Flask
from flask.testing import FlaskClient

from intake import cases, crypto, db, keyring, tokens

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Target:
    def __init__(self, ds: datagen.Dataset, sample: int, seed: int) -> None:
        self.ds = ds
        self.app: Flask = ds.instance.app()
        rng = random.Random(seed)  # noqa: S311 - choosing cases to look up
        self.indices = [rng.randrange(ds.n) for _ in range(sample)]
        self.tokens = [ds.token(i) for i in self.indices]
        self.client: FlaskClient = self.app.test_client()
        self.has_track = "citizen.track" in self.app.view_functions
        self.csrf = ""
        if self.has_track:
            page = self.client.get("/track").get_data(as_text=True)
            match = CSRF.search(page)
            assert match, "no CSRF token on /track"
            self.csrf = match.group(1)

    def domain(self, timeline: bool) -> list[float]:
        out = []
        with self.app.app_context():
            for index, token in zip(self.indices, self.tokens, strict=True):
                start = time.perf_counter()
                session = self.app.extensions["intake.db"]()
                try:
                    found = cases.find_by_token(session, token)
                    if timeline:
                        cases.citizen_timeline(session, found)
                finally:
                    session.close()
                out.append(time.perf_counter() - start)
                assert found.case.id == index + 1
        return out

    def page(self) -> list[float]:
        out = []
        for token in self.tokens:
            start = time.perf_counter()
            response = self.client.post("/track", data={"csrf_token": self.csrf, "token": token})
            body = response.get_data()
            out.append(time.perf_counter() - start)
            assert response.status_code == 200 and b'id="case-status"' in body, response.status_code
        return out

    def wrong(self, count: int) -> list[float]:
        out = []
        with self.app.app_context():
            for _ in range(count):
                typed = tokens.make()
                start = time.perf_counter()
                session = db.session()
                with contextlib.suppress(cases.TokenNotFound):
                    cases.find_by_token(session, typed)
                out.append(time.perf_counter() - start)
        return out


def kdf_cost(app: Flask, token: str, repeat: int) -> float:
    with app.app_context():
        secret = keyring.server_secret()
    salt = crypto.random_salt()

    def both() -> None:
        for _ in range(1000):
            tokens.lookup_hash(secret, token)
            crypto.derive_citizen_key(tokens.key_material(token), salt)

    return benchlib.median(benchlib.timed(both, repeat)) / 1000


def main() -> None:
    p = benchlib.parser(__doc__.splitlines()[0])
    p.add_argument("--sizes", default=None, help="two case counts, small,large (default 1000,1000000)")
    p.add_argument("--sample", type=int, default=None, help="tokens looked up per size and round")
    p.add_argument("--rounds", type=int, default=None)
    args = p.parse_args()
    small, large = (int(x) for x in (args.sizes or ("300,3000" if args.quick else "1000,1000000")).split(","))
    sample = args.sample or (20 if args.quick else 200)
    rounds = args.rounds or (2 if args.quick else 7)
    r = benchlib.Results("token_lookup", args)
    sets = datagen.ensure_sizes(args, (small, large))
    targets = {size: Target(ds, sample, seed=size) for size, ds in sets.items()}
    r.figure("sizes", [small, large])
    r.figure("sample_per_round", sample)
    r.figure("rounds", rounds)
    r.figure(
        "key_derivation_s", kdf_cost(targets[small].app, sets[small].known_token, rounds), "key derivation"
    )
    series: dict[str, dict[int, list[float]]] = {"domain": {}, "timeline": {}, "page": {}, "wrong": {}}
    has_page = all(t.has_track for t in targets.values())
    for t in targets.values():  # warm-up round, untimed
        t.domain(True)
        if has_page:
            t.page()
    for _ in range(rounds):
        for size, t in targets.items():
            series["domain"].setdefault(size, []).extend(t.domain(False))
            series["timeline"].setdefault(size, []).extend(t.domain(True))
            if has_page:
                series["page"].setdefault(size, []).extend(t.page())
            series["wrong"].setdefault(size, []).extend(t.wrong(max(5, sample // 10)))
    labels = {
        "domain": "cases.find_by_token",
        "timeline": "find_by_token + citizen_timeline",
        "page": "POST /track page (test client)",
        "wrong": "wrong token (TokenNotFound)",
    }
    results: dict[str, Any] = {}
    for name, by_size in series.items():
        if not by_size:
            continue
        p50 = {size: benchlib.median(v) for size, v in by_size.items()}
        p95 = {size: benchlib.percentile(v, 95) for size, v in by_size.items()}
        ratio = p50[large] / p50[small]
        results[name] = {"p50_s": p50, "p95_s": p95, "ratio": round(ratio, 3)}
        print(
            f"   {labels[name]}: p50 {benchlib.ms(p50[small])} @ {small:,} vs {benchlib.ms(p50[large])} @ "
            f"{large:,} (p95 {benchlib.ms(p95[small])} vs {benchlib.ms(p95[large])}) ratio {ratio:.3f}"
        )
    r.figures["lookup"] = results
    if not has_page:
        print("   (no /track page in this app: the page figure is skipped)")
    r.target(f"find_by_token {large:,} vs {small:,}", results["domain"]["ratio"], 1.2)
    if has_page:
        r.target(f"/track page {large:,} vs {small:,}", results["page"]["ratio"], 1.2)
    r.finish()


if __name__ == "__main__":
    main()
