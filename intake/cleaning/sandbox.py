"""Run a cleaning tool (ffmpeg, the PDF cleaner) on one file in a child process that sees two memory files.

The input is copied into a memfd (anonymous memory: no name, no directory entry) and the tool writes into
a second one; both reach the child as `/proc/self/fd/N` (`pass_fds`), so the tool can seek in both and the
plaintext never reaches a disk, as with the encrypted upload spool. The child runs under `prlimit` (CPU
seconds, address space, output size, no core dump, few open files) with an environment of its own (none
of our secrets), stdin closed, and is killed when it outlives its wall-clock timeout. Memory: the input
and the output are each held once, in the memfds, bounded by the per-file size limit.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

CHUNK = 1024 * 1024
ERROR_TAIL = 2000
ENV = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"}


@dataclass(frozen=True)
class Limits:
    timeout: float  # wall-clock seconds
    cpu_seconds: int
    memory: int  # bytes of address space
    max_output: int  # bytes


class ToolMissing(RuntimeError):
    """The tool (or prlimit) is not installed on this server."""


class ToolTimeout(RuntimeError):
    """The tool did not finish within its time."""


class ToolFailed(RuntimeError):
    """The tool exited with an error (its exit status and the end of what it wrote to stderr)."""

    def __init__(self, status: int, stderr: str) -> None:
        super().__init__(f"exit status {status}: {stderr}")
        self.status = status
        self.stderr = stderr


def _memfd(name: str) -> int:
    return os.memfd_create(name, os.MFD_CLOEXEC)


def _read_all(fd: int, sink: BinaryIO, limit: int) -> int:
    size = os.fstat(fd).st_size
    if size > limit:
        raise ToolFailed(-1, "output over the size limit")
    offset = 0
    while offset < size:
        chunk = os.pread(fd, min(CHUNK, size - offset), offset)
        if not chunk:
            break
        sink.write(chunk)
        offset += len(chunk)
    return offset


def run(argv: list[str], source: BinaryIO, sink: BinaryIO, limits: Limits, cwd: Path | None = None) -> int:
    """Run `argv` ("{input}" and "{output}" stand for the two memory files); the bytes written into `sink`.

    Raises ToolMissing, ToolTimeout or ToolFailed; `sink` receives the output only on success.
    """
    prlimit = shutil.which("prlimit", path=ENV["PATH"])
    tool = shutil.which(argv[0], path=ENV["PATH"]) if not os.path.isabs(argv[0]) else argv[0]
    if prlimit is None or tool is None or not os.access(tool, os.X_OK):
        raise ToolMissing(argv[0])
    fd_in, fd_out, fd_err = _memfd("intake-in"), _memfd("intake-out"), _memfd("intake-err")
    try:
        source.seek(0)
        while chunk := source.read(CHUNK):
            os.write(fd_in, chunk)
        names = {"input": f"/proc/self/fd/{fd_in}", "output": f"/proc/self/fd/{fd_out}"}
        command = [
            prlimit,
            f"--cpu={limits.cpu_seconds}",
            f"--as={limits.memory}",
            f"--fsize={limits.max_output}",
            "--core=0",
            "--nofile=64",
            "--",
            tool,
            *(arg.format(**names) for arg in argv[1:]),
        ]
        try:
            done = subprocess.run(  # noqa: S603 - fixed tool, our own arguments, no shell
                command,
                pass_fds=(fd_in, fd_out, fd_err),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=fd_err,
                env=ENV,
                cwd=cwd,
                timeout=limits.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise ToolTimeout(argv[0]) from exc
        if done.returncode == -signal.SIGXCPU:
            raise ToolTimeout(argv[0])
        if done.returncode != 0:
            size = os.fstat(fd_err).st_size
            tail = os.pread(fd_err, ERROR_TAIL, max(0, size - ERROR_TAIL)).decode("utf-8", "replace")
            raise ToolFailed(done.returncode, tail)
        return _read_all(fd_out, sink, limits.max_output)
    finally:
        for fd in (fd_in, fd_out, fd_err):
            os.close(fd)
