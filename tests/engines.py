"""Engines a test may stop and start again on the same 127.0.0.1 port: a PostgreSQL cluster, Redis, HAProxy.

The shared services of .ci/with-services.sh serve the whole suite and must stay up; the fault test
(tests/test_faults.py) starts engines of its own from these, takes them away and brings them back. Every
wait has a deadline; `stop()` is safe to call twice; nothing binds anything but loopback.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .servers import ServerFailed, free_port

START_TIMEOUT = 60.0


def wait_for_port(port: int, timeout: float, alive: subprocess.Popen[bytes] | None = None) -> None:
    """Until something accepts connections on 127.0.0.1:`port` (ServerFailed after `timeout`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if alive is not None and alive.poll() is not None:
            raise ServerFailed(f"the process exited with {alive.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.05)
    raise ServerFailed(f"nothing answers on 127.0.0.1:{port} after {timeout:.0f} s")


def _end(proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)


# --- PostgreSQL ----------------------------------------------------------------------------------


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's bin folder (Debian's layout), or None."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name)
                   if p.parent.name.isdigit() else 0)
    return found[-1] if found else None


@dataclass
class PostgresCluster:
    """A cluster of its own (initdb) in a folder the `postgres` user can reach when we run as root."""

    folder: Path
    bin: Path
    port: int = field(default_factory=free_port)

    @property
    def data(self) -> Path:
        return self.folder / "pg"

    def _run(self) -> list[str]:
        return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://intake@127.0.0.1:{self.port}/{database}"

    def init(self) -> None:
        self.data.mkdir(mode=0o700)
        if os.geteuid() == 0:
            shutil.chown(self.data, "postgres", "postgres")
        subprocess.run(
            [*self._run(), str(self.bin / "initdb"), "-D", str(self.data), "-U", "intake", "--auth=trust",
             "-E", "UTF8", "--locale=C.UTF-8"],
            check=True, capture_output=True, timeout=120,
        )

    def start(self) -> None:
        # fsync off: the machine does not crash here, only the server does (WAL recovery needs no fsync for
        # that). synchronous_commit stays on: a commit is in the WAL before the client hears of it.
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.data} "
                   "-c max_connections=200 -c fsync=off -c full_page_writes=off")
        result = subprocess.run(
            [*self._run(), str(self.bin / "pg_ctl"), "-D", str(self.data),
             "-l", str(self.data / "server.log"), "-w", "-t", str(int(START_TIMEOUT)),
             "-o", options, "start"],
            capture_output=True, timeout=START_TIMEOUT + 10,
        )
        if result.returncode != 0:
            raise ServerFailed(f"PostgreSQL did not start:\n{self.log()}")

    def stop(self, mode: str = "fast") -> None:
        """`fast` ends sessions and stops cleanly; `immediate` is a crash (recovery at the next start)."""
        if not (self.data / "postmaster.pid").exists():
            return
        subprocess.run(
            [*self._run(), str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60",
             "stop"],
            capture_output=True, timeout=90,
        )

    def log(self) -> str:
        path = self.data / "server.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""


@contextlib.contextmanager
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A started cluster of our own, stopped and removed afterwards."""
    binary = postgres_bin()
    if binary is None:
        raise ServerFailed("PostgreSQL is not installed (.ci/apt-packages.txt)")
    folder = Path(tempfile.mkdtemp(prefix="intake-engines-pg-"))
    folder.chmod(0o755)  # the postgres user must reach its data folder inside
    cluster = PostgresCluster(folder, binary)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)


# --- Redis ---------------------------------------------------------------------------------------


@dataclass
class RedisServer:
    """redis-server on a fixed port, no persistence (the limiter's counts are short-lived by design)."""

    folder: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly",
             "no", "--dir", str(self.folder)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, START_TIMEOUT, self.proc)

    def stop(self) -> None:
        _end(self.proc)
        self.proc = None


# --- HAProxy -------------------------------------------------------------------------------------

HAPROXY_CONFIG = """\
global
    maxconn 512
    stats socket {socket} mode 600 level admin
    log stdout format raw local0 info

defaults
    mode http
    log global
    option dontlognull
    option httplog
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout http-request 30s
    timeout queue 30s
    # A sync worker answers a check after the request it is busy with: give it time, or a busy server
    # is taken for a dead one (a refused connection is seen at once anyway).
    timeout check 5s
    # A refused or failed connection is tried again (three times), on another server if need be. Only
    # GET/HEAD are retried once sent: a POST is never sent twice (the citizen would get two cases).
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response response-timeout
    # When no server can answer (or one died under a request): the app's own "try again shortly" page.
    errorfile 502 {error_page}
    errorfile 503 {error_page}
    errorfile 504 {error_page}

frontend citizens
    bind 127.0.0.1:{port}
    option forwardfor
    default_backend app

backend app
    balance roundrobin
    http-request disable-l7-retry unless METH_GET or METH_HEAD
    option httpchk GET /
    http-check expect status 200
    default-server inter 2s fastinter 500ms downinter 500ms fall 3 rise 2
{servers}
"""


def haproxy_config(port: int, app_ports: list[int], error_page: Path, socket: Path) -> str:
    """HAProxy in front of the app servers on `app_ports` (named app1, app2, ...): health checks, retries,
    redispatch; its runtime API on the unix `socket` (to drain a server before it is restarted)."""
    servers = "\n".join(f"    server app{n} 127.0.0.1:{p} check" for n, p in enumerate(app_ports, 1))
    return HAPROXY_CONFIG.format(port=port, error_page=error_page, servers=servers, socket=socket)


@dataclass
class HAProxy:
    config: Path
    port: int
    log_path: Path
    socket: Path
    proc: subprocess.Popen[bytes] | None = None

    def command(self, line: str) -> str:
        """One command on HAProxy's runtime API (its stats socket), and its answer."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(10)
            sock.connect(str(self.socket))
            sock.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode(errors="replace")

    def server_stat(self, name: str) -> dict[str, str]:
        """The `show stat` row of backend server `name` (status, scur: sessions in flight, ...)."""
        lines = self.command("show stat").splitlines()
        header = lines[0].lstrip("# ").split(",")
        for line in lines[1:]:
            row = dict(zip(header, line.split(","), strict=False))
            if row.get("pxname") == "app" and row.get("svname") == name:
                return row
        raise ServerFailed(f"HAProxy has no server {name}")

    def drain(self, name: str, timeout: float = 30) -> None:
        """Send `name` no new requests, then wait until the requests it has are answered."""
        self.command(f"set server app/{name} state maint")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.server_stat(name).get("scur", "0") not in ("", "0"):
            time.sleep(0.1)

    def ready(self, name: str, timeout: float = 30) -> None:
        """Put `name` back in service and wait until its health checks pass."""
        self.command(f"set server app/{name} state ready")
        self.wait_up(name, timeout)

    def wait_up(self, name: str, timeout: float = 30) -> None:
        """Until the health checks of `name` pass (after a crash and a restart)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.server_stat(name).get("status", "").startswith("UP"):
                return
            time.sleep(0.1)
        raise ServerFailed(f"HAProxy does not see {name} up after {timeout:.0f} s")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        binary = haproxy_binary()
        if binary is None:
            raise ServerFailed("haproxy is not installed (.ci/apt-packages.txt)")
        check = subprocess.run([binary, "-c", "-f", str(self.config)], capture_output=True, timeout=30)
        if check.returncode != 0:
            raise ServerFailed(f"haproxy refused its configuration:\n{check.stdout!r}{check.stderr!r}")
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child, closed below
        try:
            self.proc = subprocess.Popen(
                [binary, "-db", "-f", str(self.config)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            )
        finally:
            log.close()
        wait_for_port(self.port, START_TIMEOUT, self.proc)

    def stop(self) -> None:
        _end(self.proc, signal.SIGUSR1, timeout=10)  # soft stop: ends once its connections are done
        self.proc = None


def haproxy_binary() -> str | None:
    return shutil.which("haproxy") or (  # Debian installs it in /usr/sbin, not always on a user's PATH
        "/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None
    )

