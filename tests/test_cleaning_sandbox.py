"""The child that cleans a file (ffmpeg, the PDF cleaner) sees two memory files, none of our environment,
hard limits, and is stopped when it takes too long: plaintext never goes through a named file on disk."""

from __future__ import annotations

import io
import os

import pytest

from intake.cleaning import sandbox

LIMITS = sandbox.Limits(timeout=20, cpu_seconds=20, memory=512 * 1024 * 1024, max_output=1024 * 1024)


def run_shell(script: str, data: bytes = b"evidence", limits: sandbox.Limits = LIMITS) -> str:
    sink = io.BytesIO()
    sandbox.run(["sh", "-c", script], io.BytesIO(data), sink, limits)
    return sink.getvalue().decode()


def test_the_child_reads_and_writes_memory_files_only() -> None:
    seen = run_shell("(readlink {input}; readlink {output}; cat {input}) > {output}")
    lines = seen.splitlines()
    assert lines[0].startswith("/memfd:intake-in") and lines[1].startswith("/memfd:intake-out")
    assert lines[2] == "evidence"


def test_the_child_gets_no_secret_from_our_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTAKE_SECRET_KEY", "do-not-pass-this-on")
    env = run_shell("env > {output}")
    assert "do-not-pass-this-on" not in env and "INTAKE" not in env
    assert set(line.split("=", 1)[0] for line in env.splitlines()) <= {"PATH", "LC_ALL", "PWD", "SHLVL", "_"}


def test_the_child_runs_under_limits() -> None:
    limits = run_shell("(ulimit -c; ulimit -t; ulimit -v; ulimit -n) > {output}").split()
    assert limits == ["0", "20", str(512 * 1024), "64"]


def test_a_child_that_takes_too_long_is_stopped() -> None:
    quick = sandbox.Limits(timeout=0.3, cpu_seconds=5, memory=LIMITS.memory, max_output=LIMITS.max_output)
    with pytest.raises(sandbox.ToolTimeout):
        run_shell("sleep 10", limits=quick)


def test_a_child_that_fails_says_why_and_no_file_descriptor_leaks() -> None:
    before = len(os.listdir("/proc/self/fd"))
    with pytest.raises(sandbox.ToolFailed) as failed:
        run_shell("echo cannot read this >&2; exit 3")
    assert failed.value.status == 3 and "cannot read this" in failed.value.stderr
    assert len(os.listdir("/proc/self/fd")) == before


def test_a_missing_tool_is_named() -> None:
    with pytest.raises(sandbox.ToolMissing):
        sandbox.run(["no-such-cleaner", "{input}"], io.BytesIO(b"x"), io.BytesIO(), LIMITS)
