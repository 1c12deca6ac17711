"""Every benchmark script runs in its quick form and writes its figures, so that none of them rots.

Sizes are tiny (--quick); the figures are not checked against targets here (a loaded test machine says
nothing about them), only that each script ran, measured both sides and wrote a ratio. With
INTAKE_TEST_DATABASE_URL set, the scripts run on PostgreSQL in databases of their own, dropped after.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from config import ROOT

BENCH = ROOT / "bench"
TIMEOUT = 180  # seconds per script: a hung server or client fails the test instead of hanging it


@pytest.fixture(scope="module")
def bench_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    directory = tmp_path_factory.mktemp("bench")
    yield directory
    subprocess.run(
        [
            sys.executable,
            str(BENCH / "datagen.py"),
            "--clean",
            "--data-dir",
            str(directory),
            *database_args(),
        ],
        cwd=ROOT,
        capture_output=True,
        timeout=TIMEOUT,
        check=False,
    )


_SUFFIX = f"{os.getpid()}_{secrets.token_hex(2)}"


def database_args() -> list[str]:
    base = os.environ.get("INTAKE_TEST_DATABASE_URL")
    if not base:
        return []
    url = make_url(base).set(database=f"intake_bench_smoke_{_SUFFIX}")
    return ["--database-url", url.render_as_string(hide_password=False)]


def run(script: str, bench_dir: Path, *extra: str) -> dict[str, object]:
    out = bench_dir / f"{script}.json"
    result = subprocess.run(
        [sys.executable, str(BENCH / script), "--quick", "--data-dir", str(bench_dir), "--json", str(out),
         *database_args(), *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "machine:" in result.stdout
    figures: dict[str, object] = json.loads(out.read_text())
    assert figures["benchmark"] == script.removesuffix(".py")
    return figures


def ratios(figures: dict[str, object]) -> list[float]:
    targets = figures["targets"]
    assert isinstance(targets, list) and targets, "no target measured"
    values = [float(t.get("ratio", t.get("MiB", -1))) for t in targets]
    assert all(v >= 0 for v in values), targets
    return values


def test_datagen_makes_valid_cases(bench_dir: Path) -> None:
    figures = run("datagen.py", bench_dir, "--cases", "300")
    assert figures["cases"] == 300
    per_channel = figures["per_channel"]
    assert isinstance(per_channel, dict) and sum(per_channel.values()) == 300


def test_crypto_budget(bench_dir: Path) -> None:
    figures = run("crypto_budget.py", bench_dir)
    for key in ("token_kdf_total_s", "argon2id_interactive_s", "seal_s", "submit_s", "plain_insert_commit_s"):
        value = figures[key]
        assert isinstance(value, float) and value > 0, key


def test_token_lookup(bench_dir: Path) -> None:
    figures = run("token_lookup.py", bench_dir)
    lookup = figures["lookup"]
    assert isinstance(lookup, dict) and {"domain", "timeline", "page", "wrong"} <= set(lookup)
    assert len(ratios(figures)) == 2


def test_report(bench_dir: Path) -> None:
    figures = run("report.py", bench_dir)
    assert len(ratios(figures)) == 3


def test_tenants(bench_dir: Path) -> None:
    figures = run("tenants.py", bench_dir)
    assert len(ratios(figures)) == 2 and float(str(figures["lookup_us"])) > 0


def test_tenant_scale(bench_dir: Path) -> None:
    figures = run("tenant_scale.py", bench_dir)
    assert figures["tenants"] == 20 and figures["cases"] == 2000 and figures["first_tenant_cases"] == 100
    national = figures["national"]
    assert isinstance(national, dict) and national["floor_agrees"] is True and national["tenants"] == 20
    assert len(ratios(figures)) == 7  # queue x2, tracking, report, submit, GET /, national


def test_officer_queue(bench_dir: Path) -> None:
    figures = run("officer_queue.py", bench_dir)
    assert len(ratios(figures)) == 2


def test_submit_through_gunicorn(bench_dir: Path) -> None:
    figures = run("submit.py", bench_dir)
    throughput = figures["throughput"]
    assert isinstance(throughput, dict)
    assert throughput["intake"]["failures"] == 0 and throughput["baseline"]["failures"] == 0
    clients = figures["clients"]
    assert isinstance(clients, int)
    assert figures["cases_stored"] == throughput["intake"]["ok"] + 2 * clients
    assert len(ratios(figures)) == 1


def test_attachment_through_gunicorn(bench_dir: Path) -> None:
    figures = run("attachment.py", bench_dir)
    assert isinstance(figures["upload_mbps"], float) and isinstance(figures["download_mbps"], float)
    assert isinstance(figures["s3_upload_mbps"], float) and isinstance(figures["s3_download_vs_file"], float)
    assert figures["s3_stored_bytes"] == figures["stored_bytes"]  # the same ciphertext size on both
    assert len(ratios(figures)) == 4  # the memory bound on file: and on s3:, upload and download


def test_notify(bench_dir: Path) -> None:
    figures = run("notify.py", bench_dir)
    assert isinstance(figures["mails_per_minute_one_notice_each"], int)
    assert figures["mails_per_minute_one_notice_each"] > 0
    assert figures["officer_mails"] == 20  # 40 notices to 20 officers: one mail each
    assert figures["notices_written"] == (21 + 4) * 6  # 20 officers + admin; 3 + admin
    assert len(ratios(figures)) == 2


def test_pixel_budget(bench_dir: Path) -> None:
    figures = run("pixel_budget.py", bench_dir)
    cases = figures["cases"]
    assert isinstance(cases, dict)
    accepted = (200, 303)  # 303: on to the receipt (receipts.py)
    assert cases["budget on"]["status"] == 400 and cases["budget off"]["status"] in accepted
    assert cases["three fit"]["status"] in accepted and cases["plain"]["status"] in accepted
    assert len(ratios(figures)) == 3
