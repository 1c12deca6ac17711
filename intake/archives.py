"""Our own tar archives read back safely: only regular files with known names, streamed, with checksums."""

from __future__ import annotations

import hashlib
import re
import shutil
import tarfile
from pathlib import Path

CHUNK = 1024 * 1024


def extract(
    tar: tarfile.TarFile, folder: Path, member: re.Pattern[str], folders: tuple[str, ...],
    refused: type[Exception], what: str,
) -> set[str]:
    """Unpack the regular files whose names `member` matches (and their `folders`) into `folder`; any other
    member, or one twice, raises `refused` naming it. Returns the names unpacked."""
    present: set[str] = set()
    for item in tar:
        if item.isdir() and item.name in folders:
            continue
        if not item.isfile() or not member.fullmatch(item.name) or item.name in present:
            raise refused(f"unexpected member in the {what}: {item.name[:80]!r}")
        source = tar.extractfile(item)
        if source is None:
            raise refused(f"unreadable member {item.name}")
        target = folder / item.name
        target.parent.mkdir(mode=0o700, exist_ok=True)
        with source, open(target, "xb") as sink:
            shutil.copyfileobj(source, sink, CHUNK)
        present.add(item.name)
    return present


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
