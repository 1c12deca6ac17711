"""Shared helpers of the benchmarks: arguments, timing, the machine, throwaway instances and servers.

Every benchmark builds its own instance (SQLite under a temporary folder by default, or a PostgreSQL
database of its own, created and dropped next to the one named by --database-url), with the fast KDF
profile for data generation and rate limiting switched off so that limits do not decide the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import secrets
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_CHECKOUT = str(Path(__file__).resolve().parent.parent)  # where `config` and `intake` are
if _CHECKOUT not in sys.path:
    sys.path.insert(0, _CHECKOUT)

from flask import Flask  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from config import ROOT  # noqa: E402
from intake import create_app, migrate, models  # noqa: E402
from intake.cli import run_setup  # noqa: E402
from intake.db import Base, make_engine  # noqa: E402
from tests import servers  # noqa: E402

ADMIN = "admin"
PASSWORD = "bench admin password"
RECOVERY = "bench recovery passphrase"
OFFICER_PASSWORD = "bench officer password"
DATA_DIR = Path(os.environ.get("INTAKE_BENCH_DIR", Path(tempfile.gettempdir()) / "intake-bench"))
PY = sys.executable


# --- arguments and printing ---------------------------------------------------------------------


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="small sizes and few runs (smoke test)")
    p.add_argument(
        "--database-url",
        default=None,
        help="postgresql+psycopg://USER:PW@127.0.0.1:5432/NAME: bench databases NAME_<suffix> are made "
        "next to it on that server (default: SQLite files under the data folder)",
    )
    p.add_argument(
        "--data-dir", type=Path, default=DATA_DIR, help=f"generated data sets (default {DATA_DIR})"
    )
    p.add_argument("--fresh", action="store_true", help="regenerate data sets even if cached")
    p.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    return p


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms"


def machine() -> dict[str, str]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return {
        "cpu": cpu,
        "nproc": str(os.cpu_count()),
        "memory": mem,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


class Results:
    """Figures collected by a benchmark; printed as it goes and written as JSON at the end."""

    def __init__(self, name: str, args: argparse.Namespace) -> None:
        self.name = name
        self.args = args
        self.figures: dict[str, Any] = {}
        self.targets: list[dict[str, Any]] = []
        info = machine()
        engine = "postgresql" if args.database_url else "sqlite"
        print(f"== {name} ({engine}{', quick' if args.quick else ''})")
        print("   machine: " + ", ".join(f"{k} {v}" for k, v in info.items()))
        self.figures["machine"] = info
        self.figures["engine"] = engine

    def figure(self, key: str, value: Any, label: str | None = None) -> None:
        self.figures[key] = value
        shown = ms(value) if isinstance(value, float) and key.endswith("_s") else value
        print(f"   {label or key}: {shown}")

    def target(
        self, what: str, ratio: float, limit: float, *, at_least: bool = False, unit: str = ""
    ) -> bool:
        met = ratio >= limit if at_least else ratio <= limit
        sign = ">=" if at_least else "<="
        word = unit or "ratio"
        self.targets.append({"what": what, word: round(ratio, 3), "target": f"{sign} {limit}", "met": met})
        print(f"   TARGET {what}: {word} {ratio:.3f} (target {sign} {limit}) -> {'met' if met else 'MISSED'}")
        return met

    def finish(self) -> None:
        if self.args.json:
            self.args.json.parent.mkdir(parents=True, exist_ok=True)
            out = {"benchmark": self.name, **self.figures, "targets": self.targets}
            self.args.json.write_text(json.dumps(out, indent=2, ensure_ascii=False, default=str) + "\n")


def timed(
    fn: Callable[[], Any], repeat: int, warmup: int = 1, clock: Callable[[], float] = time.perf_counter
) -> list[float]:
    """Seconds per call of `fn`, `repeat` times after `warmup` untimed calls (wall time, or the `clock`
    given: time.process_time for the CPU of this process alone)."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeat):
        start = clock()
        fn()
        out.append(clock() - start)
    return out


def host_lookup_figures(app: Any, hosts: list[str], r: Results, samples: int, digits: int = 2) -> None:
    """Loading the tenant cache, then a cached tenant-by-host lookup against a plain dict of the same size."""
    import random

    from intake import tenancy

    with app.app_context():
        start = time.perf_counter()
        tenancy.forget()
        tenancy.for_host("localhost")
        loaded = time.perf_counter() - start
        r.figure("registry_load_s", loaded, f"loading the cache of {len(hosts):,} tenants")
        rng = random.Random(1)  # noqa: S311 - choosing host names to look up
        sample = [rng.choice(hosts) for _ in range(samples)]
        floor = {h: i for i, h in enumerate(hosts)}
        t0 = time.perf_counter()
        for h in sample:
            tenancy.for_host(h)
        lookup = (time.perf_counter() - t0) / len(sample)
        t0 = time.perf_counter()
        for h in sample:
            floor.get(h.lower())
        plain = (time.perf_counter() - t0) / len(sample)
    r.figure("lookup_us", round(lookup * 1e6, digits), "tenant by host name, cached (microseconds)")
    r.figure("dict_lookup_us", round(plain * 1e6, digits), "a plain dict lookup of the same size (floor)")


# --- instances -----------------------------------------------------------------------------------


@dataclass
class Instance:
    """A throwaway intake instance: folder (instance/, keys/), database, config."""

    directory: Path
    database_url: str
    server_url: str | None = None  # PostgreSQL: the URL to create/drop the database through
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def instance_dir(self) -> Path:
        return self.directory / "instance"

    @property
    def keys_dir(self) -> Path:
        return self.directory / "keys"

    @property
    def recovery_key(self) -> Path:
        """Outside keys/ and instance/, where setup writes it (it refuses the server's own folders)."""
        return self.directory / "recovery.key"

    def config(self, **extra: Any) -> dict[str, Any]:
        secret_file = self.directory / "secret_key"
        if not secret_file.exists():
            secret_file.parent.mkdir(parents=True, exist_ok=True)
            secret_file.write_text(secrets.token_urlsafe(32))
        return {
            "DATABASE_URL": self.database_url,
            "INSTANCE_DIR": str(self.instance_dir),
            "KEYS_DIR": str(self.keys_dir),
            "KDF_PROFILE": "fast",
            "SECRET_KEY": secret_file.read_text(),
            "RATELIMIT_ENABLED": False,
            "SESSION_COOKIE_SECURE": False,
            **self.extra,
            **extra,
        }

    def env(self, **extra: Any) -> dict[str, str]:
        """The same configuration as INTAKE_* environment variables (for gunicorn and flask)."""
        env = dict(os.environ)
        for key, value in self.config(**extra).items():
            env[f"INTAKE_{key}"] = json.dumps(value) if isinstance(value, bool | int) else str(value)
        env["INTAKE_ENV"] = "development"
        env["PYTHONPATH"] = str(ROOT)
        return env

    def app(self, **extra: Any) -> Flask:
        return create_app(self.config(**extra))

    def create(self) -> None:
        """Empty folder and database with the schema from the models (as the test suite does)."""
        if self.directory.exists():
            shutil.rmtree(self.directory)
        self.directory.mkdir(parents=True)
        if self.server_url:
            servers.create_database(self.server_url, self.db_name)
        create_schema(self.database_url)

    @property
    def db_name(self) -> str:
        return str(make_url(self.database_url).database)

    def setup(self) -> Flask:
        """`flask setup --with-corruption` in-process: keys, channel keys, an administrator of every channel
        (the benchmarks' data generator acts on cases of every channel as that administrator)."""
        app = self.app()
        os.environ["INTAKE_ADMIN_PASSWORD"] = PASSWORD
        os.environ["INTAKE_RECOVERY_PASSPHRASE"] = RECOVERY
        with app.app_context():
            run_setup(ADMIN, self.recovery_key, with_corruption=True)
        return app

    def destroy(self) -> None:
        if self.server_url:
            with contextlib.suppress(Exception):
                servers.drop_database(self.server_url, self.db_name)
        shutil.rmtree(self.directory, ignore_errors=True)


def instance_for(name: str, database_url: str | None, data_dir: Path) -> Instance:
    """An Instance named `name` (folder under data_dir; PostgreSQL database <base>_<name>)."""
    directory = data_dir / (("pg-" if database_url else "sqlite-") + name)
    if not database_url:
        return Instance(directory, f"sqlite:///{directory / 'instance' / 'intake.sqlite3'}")
    base = make_url(database_url)
    db_name = f"{base.database or 'intake_bench'}_{name}".replace("-", "_").lower()
    url = base.set(database=db_name).render_as_string(hide_password=False)
    server = base.set(database="postgres").render_as_string(hide_password=False)
    return Instance(directory, url, server_url=server)


def create_schema(url: str) -> None:
    engine = make_engine(url)
    migrate.create_from_models(engine)
    engine.dispose()


def _index_key(ix: Any) -> str:
    include = ix.dialect_options["postgresql"]["include"] or []
    return f"{ix.name}({','.join(c.name for c in ix.columns)};{','.join(include)})"


def schema_fingerprint() -> str:
    """Changes whenever a model gains or loses a column or an index, or an index changes its columns:
    cached data sets are then remade."""
    assert models.Case.__table__ is not None
    parts = []
    for table in Base.metadata.sorted_tables:
        parts.append(table.name + ":" + ",".join(f"{c.name}/{c.type}" for c in table.columns))
        parts.append(",".join(sorted(_index_key(ix) for ix in table.indexes)))
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


# --- serving -------------------------------------------------------------------------------------

GUNICORN_CONF_ARGS = ("-c", str(ROOT / "gunicorn.conf.py"))  # serve as production does


def flask_command(env: dict[str, str], *args: str) -> None:
    """`flask --app wsgi ARGS` in the checkout with `env`; exits the benchmark if it fails."""
    done = subprocess.run(  # noqa: S603 - our own command line
        [PY, "-m", "flask", "--app", "wsgi", *args], env=env, cwd=ROOT, capture_output=True, text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"flask {args[0]} failed: {done.stdout}{done.stderr}")


class Server(servers.Server):
    """A gunicorn of a benchmark (tests/servers.py stops it: the whole process group), and its workers."""

    @property
    def base(self) -> str:
        return self.url

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        with contextlib.suppress(OSError):
            return [int(p) for p in children.read_text().split()]
        return []


@contextlib.contextmanager
def gunicorn(
    app_spec: str,
    env: dict[str, str],
    *,
    workers: int = 2,
    log: Path,
    extra_args: tuple[str, ...] = (),
) -> Iterator[Server]:
    """gunicorn on 127.0.0.1 (a free port), `workers` sync workers; stopped on exit."""
    port = servers.free_port()
    log.parent.mkdir(parents=True, exist_ok=True)
    args = [
        PY,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--timeout",
        "300",
        "--no-control-socket",  # several servers at once (and other people's) must not share one
        "--chdir",
        str(ROOT),
        *extra_args,
        app_spec,
    ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own command line
            args, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(proc, port, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: see {log}\n{log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(server.base + "/", timeout=5):  # noqa: S310 - loopback
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not answer: see {log}") from None
                time.sleep(0.2)
        while len(server.worker_pids()) < workers and time.monotonic() < deadline:
            time.sleep(0.1)
        yield server
    finally:
        server.stop()


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of processes so far (from /proc/<pid>/stat)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / ticks


def proc_status(pid: int, field_name: str) -> int:
    """A /proc/<pid>/status field in KiB (VmRSS, VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    raise KeyError(field_name)
