"""Large attachment: a 100 MB upload through gunicorn and its decrypted download, memory and throughput.

    .venv/bin/python bench/attachment.py [--quick] [--database-url URL] [--size-mb 100]

A fresh instance (schema, `flask --app wsgi setup`, an officer "pr" holding the feedback channel made
with `flask --app wsgi officer add`) with the attachment limits raised above the file's size
(INTAKE_ATTACHMENT_MAX_FILE, INTAKE_ATTACHMENT_MAX_TOTAL, INTAKE_MAX_CONTENT_LENGTH) is served by
gunicorn with ONE sync worker, so that the serving process is known. The file is a PDF (a PDF header and
random bytes: images would be decoded by Pillow). Upload: GET /report/feedback, then POST it with the file,
the request body streamed from disk. Download: the officer signs in and GETs
/officer/cases/<id>/attachments/<id>, reading the body in 1 MiB pieces and checking its SHA-256.
Memory: the worker's peak RSS (VmHWM, reset through /proc/<pid>/clear_refs before each transfer, and
VmRSS sampled every 10 ms) minus its RSS before the transfer; target: at most 32 MiB of growth.
Throughput: MB/s of each transfer against a plain copy of the same file on the same disk (copy + fsync).
"""

from __future__ import annotations

import hashlib
import http.cookiejar
import os
import re
import secrets
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
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


def make_pdf(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    with open(path, "wb") as fh:
        head = b"%PDF-1.4\n% bench attachment\n"
        fh.write(head)
        digest.update(head)
        left = size - len(head)
        while left > 0:
            chunk = os.urandom(min(MIB, left))
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
        f'--{boundary}\r\nContent-Disposition: form-data; name="attachments"; filename="หลักฐาน.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
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


def main() -> None:
    p = benchlib.parser(__doc__.splitlines()[0])
    p.add_argument("--size-mb", type=int, default=None, help="file size in MiB (default 100)")
    p.add_argument("--rounds", type=int, default=None)
    args = p.parse_args()
    size = (args.size_mb or (4 if args.quick else 100)) * MIB
    rounds = args.rounds or (1 if args.quick else 3)
    r = benchlib.Results("attachment", args)
    inst = benchlib.instance_for("attachment", args.database_url, args.data_dir)
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
    env["INTAKE_WORKERS"] = "1"
    for command in (
        ["setup", "--admin", benchlib.ADMIN, "--recovery-key-out", str(inst.recovery_key)],
        ["officer", "add", "pr", "--channel", "feedback", "--recovery-key", str(inst.recovery_key)],
    ):
        done = subprocess.run(
            [benchlib.PY, "-m", "flask", "--app", "wsgi", *command],
            env=env,
            cwd=benchlib.ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"flask {command[0]} failed: {done.stdout}{done.stderr}")
    source = inst.directory / "upload.pdf"
    small = inst.directory / "warmup.pdf"
    sha = make_pdf(source, size)
    make_pdf(small, 256 * 1024)
    copies = [plain_copy(source, inst.directory / "copy.pdf") for _ in range(rounds)]
    conf = benchlib.ROOT / "gunicorn.conf.py"
    extra = ("-c", str(conf)) if conf.exists() else ()
    ups: list[float] = []
    downs: list[float] = []
    up_growth: list[int] = []
    down_growth: list[int] = []
    try:
        with benchlib.gunicorn(
            "wsgi:app", env, workers=1, log=args.data_dir / "logs" / "attachment.log", extra_args=extra
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
                    ups.append(upload(citizen, server.base, source))
                up_growth.append(watch.growth_kib)
                with engine.connect() as conn:
                    case_id, att_id = conn.execute(text(latest)).one()
                url = f"{server.base}/officer/cases/{case_id}/attachments/{att_id}"
                with Watch(worker) as watch:
                    elapsed, got, digest = download(officer, url)
                down_growth.append(watch.growth_kib)
                assert got == size and digest == sha, "the download is not the file uploaded"
                downs.append(elapsed)
            engine.dispose()
            stored = sum(f.stat().st_size for f in (inst.instance_dir / "attachments").iterdir())
    finally:
        inst.destroy()
    mb = size / 1e6
    copy_s, up_s, down_s = benchlib.median(copies), benchlib.median(ups), benchlib.median(downs)
    r.figure("size_mib", size // MIB)
    r.figure("rounds", rounds)
    r.figure("copy_mbps", round(mb / copy_s, 1), "plain copy + fsync, MB/s")
    r.figure(
        "upload_mbps", round(mb / up_s, 1), "upload through gunicorn (parse, check, encrypt, fsync), MB/s"
    )
    r.figure("download_mbps", round(mb / down_s, 1), "decrypted download through gunicorn, MB/s")
    r.figure("upload_vs_copy", round(copy_s / up_s, 3), "upload throughput / copy throughput")
    r.figure("download_vs_copy", round(copy_s / down_s, 3), "download throughput / copy throughput")
    r.figure("upload_rss_growth_kib", up_growth, "worker peak RSS growth during upload (KiB)")
    r.figure("download_rss_growth_kib", down_growth, "worker peak RSS growth during download (KiB)")
    r.figure("stored_bytes_on_disk", stored)
    r.target("upload: worker peak RSS growth in MiB", max(up_growth) / 1024, 32, unit="MiB")
    r.target("download: worker peak RSS growth in MiB", max(down_growth) / 1024, 32, unit="MiB")
    r.finish()


if __name__ == "__main__":
    main()
