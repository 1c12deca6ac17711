"""Large attachment: a 100 MB upload through gunicorn and its decrypted download, memory and throughput.

    .venv/bin/python bench/attachment.py [--quick] [--database-url URL] [--size-mb 100] [--no-s3]

A fresh instance (schema, `flask --app wsgi setup`, an officer "pr" holding the feedback channel made
with `flask --app wsgi officer add`) with the attachment limits raised above the file's size
(INTAKE_ATTACHMENT_MAX_FILE, INTAKE_ATTACHMENT_MAX_TOTAL, INTAKE_MAX_CONTENT_LENGTH) is served by
gunicorn with ONE sync worker, so that the serving process is known. The file is plain text (random base64
lines): text is the one kind stored exactly as sent, so the figures are those of the spool, encryption and
storage path alone (pictures are decoded and PDFs rewritten: bench/pixel_budget.py measures that cost).
Upload: GET /report/feedback, then POST it with the file, the request body streamed from disk. Download:
the officer signs in and GETs /officer/cases/<id>/attachments/<id>, reading the body in 1 MiB pieces and
checking its SHA-256.
Memory: the worker's peak RSS (VmHWM, reset through /proc/<pid>/clear_refs before each transfer, and
VmRSS sampled every 10 ms) minus its RSS before the transfer; target: at most 32 MiB of growth.
Throughput: MB/s of each transfer against a plain copy of the same file on the same disk (copy + fsync).
Storage: the same measurements on `file:` (the instance folder) and then on `s3:` (a SeaweedFS on
127.0.0.1: INTAKE_TEST_S3_* when set, else one started for the run), each on a fresh instance; s3: is
reported beside file: with the ratio of their throughputs (`--no-s3`: file: only).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.cookiejar
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import benchlib
from sqlalchemy import text

from intake.db import make_engine

MIB = 1024 * 1024
CSRF = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"')


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def make_text(path: Path, size: int) -> str:
    """A plain-text file of random base64 lines: stored exactly as sent (PDFs and pictures are rewritten)."""
    digest = hashlib.sha256()
    with open(path, "wb") as fh:
        left = size
        while left > 0:
            chunk = base64.encodebytes(os.urandom(MIB))[: min(MIB, left)]
            fh.write(chunk)
            digest.update(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def plain_copy(src: Path, dst: Path) -> float:
    start = time.perf_counter()
    shutil.copyfile(src, dst)
    with open(dst, "rb+") as fh:
        os.fsync(fh.fileno())
    elapsed = time.perf_counter() - start
    dst.unlink()
    return elapsed


class Watch:
    """Peak memory of one process during a transfer: VmHWM after a reset, and VmRSS sampled."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append(benchlib.proc_status(self.pid, "VmRSS"))
            except (OSError, KeyError):
                return
            time.sleep(0.01)

    def __enter__(self) -> Watch:
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")  # reset VmHWM to the current RSS
        self.before = benchlib.proc_status(self.pid, "VmRSS")
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.hwm = benchlib.proc_status(self.pid, "VmHWM")
        self.growth_kib = max(self.hwm, *self.samples, 0) - self.before


def multipart_stream(path: Path, fields: dict[str, str]) -> tuple[Iterator[bytes], int, str]:
    boundary = "----bench" + secrets.token_hex(8)
    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    )
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="attachments"; filename="หลักฐาน.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    size = len(head) + path.stat().st_size + len(tail)

    def body() -> Iterator[bytes]:
        yield head
        with open(path, "rb") as fh:
            while chunk := fh.read(MIB):
                yield chunk
        yield tail

    return body(), size, f"multipart/form-data; boundary={boundary}"


def upload(opener: urllib.request.OpenerDirector, base: str, path: Path) -> float:
    page = opener.open(base + "/report/feedback").read()
    match = CSRF.search(page)
    assert match, "no CSRF token on /report/feedback"
    fields = {"csrf_token": match.group(1).decode(), "details": "หลักฐานการจัดซื้อ ไฟล์ขนาดใหญ่", "website": ""}
    body, size, ctype = multipart_stream(path, fields)
    request = urllib.request.Request(  # noqa: S310 - http://127.0.0.1 only
        base + "/report/feedback",
        data=body,
        method="POST",
        headers={"Content-Type": ctype, "Content-Length": str(size)},
    )
    start = time.perf_counter()
    with opener.open(request, timeout=600) as response:
        answer = response.read()
    elapsed = time.perf_counter() - start
    assert b'id="case-token"' in answer, "the upload was not accepted"
    return elapsed


def sign_in(opener: urllib.request.OpenerDirector, base: str) -> None:
    page = opener.open(base + "/officer/login").read()
    match = CSRF.search(page)
    assert match, "no CSRF token on /officer/login"
    data = urllib.parse.urlencode(
        {"csrf_token": match.group(1).decode(), "username": "pr", "password": benchlib.OFFICER_PASSWORD}
    ).encode()
    try:
        opener.open(urllib.request.Request(base + "/officer/login", data=data, method="POST"))  # noqa: S310
    except urllib.error.HTTPError as exc:  # the 303 after signing in (redirects not followed)
        if exc.code not in (302, 303):
            raise


def download(opener: urllib.request.OpenerDirector, url: str) -> tuple[float, int, str]:
    digest = hashlib.sha256()
    size = 0
    start = time.perf_counter()
    with opener.open(url, timeout=600) as response:
        while chunk := response.read(MIB):
            digest.update(chunk)
            size += len(chunk)
    return time.perf_counter() - start, size, digest.hexdigest()


@dataclass
class Measured:
    ups: list[float] = field(default_factory=list)
    downs: list[float] = field(default_factory=list)
    up_growth: list[int] = field(default_factory=list)
    down_growth: list[int] = field(default_factory=list)
    stored: int = 0


def measure(
    args: Any, name: str, size: int, rounds: int, storage_env: dict[str, str], stored_size: Any
) -> tuple[Measured, list[float]]:
    """A fresh instance on one storage, served by one gunicorn worker: upload and download `rounds` times."""
    inst = benchlib.instance_for(name, args.database_url, args.data_dir)
    inst.create()
    limit = size + 4 * MIB
    env = inst.env(
        ADMIN_PASSWORD=benchlib.PASSWORD,
        RECOVERY_PASSPHRASE=benchlib.RECOVERY,
        OFFICER_PASSWORD=benchlib.OFFICER_PASSWORD,
        ATTACHMENT_MAX_FILE=limit,
        ATTACHMENT_MAX_TOTAL=limit,
        MAX_CONTENT_LENGTH=limit + 4 * MIB,
    )
    env.update(storage_env)
    env["INTAKE_WORKERS"] = "1"
    for command in (
        ["setup", "--admin", benchlib.ADMIN, "--recovery-key-out", str(inst.recovery_key)],
        ["officer", "add", "pr", "--channel", "feedback", "--recovery-key", str(inst.recovery_key)],
    ):
        benchlib.flask_command(env, *command)
    source = inst.directory / "upload.txt"
    small = inst.directory / "warmup.txt"
    sha = make_text(source, size)
    make_text(small, 256 * 1024)
    copies = [plain_copy(source, inst.directory / "copy.txt") for _ in range(rounds)]
    extra = benchlib.GUNICORN_CONF_ARGS
    out = Measured()
    try:
        with benchlib.gunicorn(
            "wsgi:app", env, workers=1, log=args.data_dir / "logs" / f"{name}.log", extra_args=extra
        ) as server:
            (worker,) = server.worker_pids()
            jar = http.cookiejar.CookieJar()
            citizen = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
            upload(citizen, server.base, small)  # warm-up: imports, connections, first spool
            officer = urllib.request.build_opener(
                urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect()
            )
            sign_in(officer, server.base)
            engine = make_engine(inst.database_url)
            latest = "SELECT case_id, id FROM attachments ORDER BY id DESC LIMIT 1"
            with engine.connect() as conn:
                case_id, att_id = conn.execute(text(latest)).one()
            download(officer, f"{server.base}/officer/cases/{case_id}/attachments/{att_id}")  # warm-up
            for _ in range(rounds):
                with Watch(worker) as watch:
                    out.ups.append(upload(citizen, server.base, source))
                out.up_growth.append(watch.growth_kib)
                with engine.connect() as conn:
                    case_id, att_id = conn.execute(text(latest)).one()
                url = f"{server.base}/officer/cases/{case_id}/attachments/{att_id}"
                with Watch(worker) as watch:
                    elapsed, got, digest = download(officer, url)
                out.down_growth.append(watch.growth_kib)
                assert got == size and digest == sha, "the download is not the file uploaded"
                out.downs.append(elapsed)
            engine.dispose()
            out.stored = stored_size(inst)
    finally:
        inst.destroy()
    return out, copies


def main() -> None:
    p = benchlib.parser(__doc__.splitlines()[0])
    p.add_argument("--size-mb", type=int, default=None, help="file size in MiB (default 100)")
    p.add_argument("--rounds", type=int, default=None)
    p.add_argument("--no-s3", action="store_true", help="measure file: only (no SeaweedFS)")
    args = p.parse_args()
    size = (args.size_mb or (4 if args.quick else 100)) * MIB
    rounds = args.rounds or (1 if args.quick else 3)
    r = benchlib.Results("attachment", args)
    mb = size / 1e6

    def on_disk(inst: benchlib.Instance) -> int:
        return sum(f.stat().st_size for f in (inst.instance_dir / "attachments").iterdir())

    measured: dict[str, Measured] = {}
    file_run, copies = measure(args, "attachment", size, rounds, {"INTAKE_STORAGE_URL": "file:"}, on_disk)
    measured["file"] = file_run
    if not args.no_s3:
        with s3_endpoint(args.data_dir) as s3:
            prefix = "bench" + secrets.token_hex(4)
            env = {"INTAKE_" + k: str(v) for k, v in s3.config(prefix).items()}

            def in_store(_inst: benchlib.Instance) -> int:
                return sum(info.size for info in s3.store(prefix).list_objects())

            measured["s3"], _ = measure(args, "attachment-s3", size, rounds, env, in_store)
            store = s3.store(prefix)
            for info in list(store.list_objects()):
                store.delete(info.name)
    copy_s = benchlib.median(copies)
    r.figure("size_mib", size // MIB)
    r.figure("rounds", rounds)
    r.figure("copy_mbps", round(mb / copy_s, 1), "plain copy + fsync, MB/s")
    base_up, base_down = benchlib.median(file_run.ups), benchlib.median(file_run.downs)
    for kind, m in measured.items():
        up_s, down_s = benchlib.median(m.ups), benchlib.median(m.downs)
        key = "" if kind == "file" else "s3_"
        where = "file:" if kind == "file" else "s3: (SeaweedFS on 127.0.0.1)"
        r.figure(f"{key}upload_mbps", round(mb / up_s, 1),
                 f"{where} upload through gunicorn (parse, check, encrypt, store durably), MB/s")
        r.figure(f"{key}download_mbps", round(mb / down_s, 1), f"{where} decrypted download, MB/s")
        r.figure(f"{key}upload_vs_copy", round(copy_s / up_s, 3), f"{where} upload throughput / copy")
        r.figure(f"{key}download_vs_copy", round(copy_s / down_s, 3), f"{where} download throughput / copy")
        if kind != "file":
            r.figure("s3_upload_vs_file", round(base_up / up_s, 3), "s3: upload throughput / file: upload")
            r.figure("s3_download_vs_file", round(base_down / down_s, 3),
                     "s3: download throughput / file: download")
        r.figure(f"{key}upload_rss_growth_kib", m.up_growth, f"{where} worker peak RSS growth, upload (KiB)")
        r.figure(f"{key}download_rss_growth_kib", m.down_growth,
                 f"{where} worker peak RSS growth, download (KiB)")
        r.figure(f"{key}stored_bytes", m.stored, f"{where} bytes stored (ciphertext)")
        r.target(f"{where} upload: worker peak RSS growth in MiB", max(m.up_growth) / 1024, 32, unit="MiB")
        r.target(f"{where} download: worker peak RSS growth in MiB", max(m.down_growth) / 1024, 32,
                 unit="MiB")
    r.finish()


@contextlib.contextmanager
def s3_endpoint(data_dir: Path) -> Iterator[Any]:
    """The SeaweedFS of INTAKE_TEST_S3_* (as .ci/with-services.sh exports), or one started for this run."""
    from tests import seaweed

    shared = seaweed.from_environment()
    if shared is not None:
        shared.store().create_bucket()
        yield shared
        return
    state = Path(tempfile.mkdtemp(prefix="seaweed-", dir=data_dir))
    server = seaweed.start(state)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()
