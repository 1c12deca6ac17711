"""Pixel budget: what the review's cheap request (ten blank 39.7-megapixel PNGs, 1.3 MB) costs in CPU and
memory with the per-submission budget, against the same code with the budget switched off, in one run.

    .venv/bin/python bench/pixel_budget.py [--quick] [--runs 3] [--before-root /path/to/older/checkout]

Each measurement is one POST of the corruption form through Flask's test client, in a fresh child
process (a throwaway SQLite instance, fast KDF, the limiter on): CPU seconds of the POST (process time)
and peak resident memory growth during it (VmHWM reset through /proc/self/clear_refs, minus VmRSS
before). Cases:
- `budget off`: the review's submission with ATTACHMENT_MAX_MEGAPIXELS raised out of reach, so every
  picture is decoded and re-encoded, as before the budget (with --before-root, that checkout's own code
  instead: e.g. the main branch before this change);
- `budget on`: the same submission with the default budget: refused before any picture is decoded;
- `plain`: a submission with one small text file: the floor every submission pays;
- `three fit`: three of the pictures (119 megapixels, under the 150 budget), accepted: the most an
  accepted submission of PNGs costs, one picture decoded at a time.
Targets: budget on / budget off <= 0.05 for CPU and memory; budget on / plain <= 2 for CPU.
--quick uses 2000 x 2000 pictures and a budget of 15 megapixels.
"""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

import benchlib

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
FULL = (7280, 5450, 150)  # width, height, budget (megapixels): the review's pictures, the default budget
QUICK = (2000, 2000, 15)


def blank_png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    packer = zlib.compressobj(9)
    row = b"\x00" + b"\xff" * (3 * width)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def child(case: str, png_path: str, budget: int, workdir: str) -> dict[str, Any]:
    """One measurement, in this (fresh) process."""
    import io

    inst = benchlib.Instance(Path(workdir), f"sqlite:///{Path(workdir) / 'instance' / 'intake.sqlite3'}")
    inst.extra = {"RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "memory://",
                  "ATTACHMENT_MAX_MEGAPIXELS": 1_000_000 if case == "budget off" else budget}  # fmt: skip
    inst.create()
    app = inst.setup()
    client = app.test_client()
    png = Path(png_path).read_bytes()
    files = {"plain": [(b"a short note", "note.txt")], "three fit": [(png, f"b{i}.png") for i in range(3)]}
    chosen = files.get(case, [(png, f"b{i}.png") for i in range(10)])
    page = client.get("/report/corruption").get_data(as_text=True)
    match = CSRF.search(page)
    assert match, "no CSRF token"
    data = {"csrf_token": match.group(1), "details": "รายละเอียด", "attachments": [
        (io.BytesIO(content), name) for content, name in chosen
    ]}  # fmt: skip
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS
    rss_before = _status_kib("VmRSS")
    cpu = time.process_time()
    response = client.post("/report/corruption", data=data, content_type="multipart/form-data")
    cpu = time.process_time() - cpu
    peak = _status_kib("VmHWM")
    return {"status": response.status_code, "cpu_s": cpu, "peak_growth_mib": (peak - rss_before) / 1024,
            "bytes": sum(len(c) for c, _ in chosen)}  # fmt: skip


def measure(case: str, png_path: Path, budget: int, root: Path, scratch: Path) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(root), INTAKE_BENCH_ROOT=str(root), PYTHONDONTWRITEBYTECODE="1")
    out = subprocess.run(
        [sys.executable, __file__, "--child", case, str(png_path), str(budget), str(scratch)],
        capture_output=True, text=True, timeout=600, env=env, check=False,
    )  # fmt: skip
    if out.returncode != 0:
        raise SystemExit(f"{case}: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = benchlib.parser(__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=None)
    p.add_argument("--before-root", type=Path, default=None,
                   help="a checkout whose code measures 'budget off' (e.g. main before the budget)")
    args = p.parse_args()
    width, height, budget = QUICK if args.quick else FULL
    runs = args.runs or (1 if args.quick else 3)
    r = benchlib.Results("pixel_budget", args)
    r.figure("pictures", f"10 x {width}x{height} blank PNG ({width * height / 1e6:.1f} megapixels each)")
    with tempfile.TemporaryDirectory(prefix="pixel-budget-") as tmp:
        png_path = Path(tmp) / "blank.png"
        png_path.write_bytes(blank_png(width, height))
        results: dict[str, dict[str, float]] = {}
        for case in ("plain", "budget on", "three fit", "budget off"):
            root = args.before_root if (case == "budget off" and args.before_root) else benchlib.ROOT
            samples = [measure(case, png_path, budget, root, Path(tmp) / f"run-{case}-{i}".replace(" ", "-"))
                       for i in range(runs)]  # fmt: skip
            cpu = benchlib.median([s["cpu_s"] for s in samples])
            mem = benchlib.median([s["peak_growth_mib"] for s in samples])
            results[case] = {"cpu_s": cpu, "peak_growth_mib": mem, "status": samples[0]["status"]}
            r.figure(f"{case}", f"HTTP {samples[0]['status']}, {samples[0]['bytes'] / 1e6:.2f} MB sent, "
                     f"CPU {cpu * 1000:.0f} ms, peak memory +{mem:.1f} MiB (median of {runs})")  # fmt: skip
        r.figures["cases"] = results
        if args.before_root:
            r.figure("budget off measured with", str(args.before_root))
    on, off, plain = results["budget on"], results["budget off"], results["plain"]
    r.target("CPU, budget on / budget off", on["cpu_s"] / off["cpu_s"], 0.05)
    r.target("peak memory growth, budget on / budget off",
             max(on["peak_growth_mib"], 0.1) / max(off["peak_growth_mib"], 0.1), 0.05)  # fmt: skip
    r.target("CPU, budget on / a plain submission", on["cpu_s"] / plain["cpu_s"], 2.0)
    r.finish()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        root = os.environ.get("INTAKE_BENCH_ROOT")
        if root:
            sys.path.insert(0, root)  # ahead of this checkout (benchlib adds it): the code under test
        print(json.dumps(child(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])))
    else:
        main()
