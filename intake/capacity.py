"""Room for evidence files: a byte budget per client address and a floor of free disk space.

Without them one address could store 25 MB x 60 submissions an hour, kept for years (issue 9, finding 10).
- Per address: INTAKE_RATELIMIT_UPLOAD_MB, in megabytes of stored files (the limiter, cost = megabytes),
  charged just before the files are stored; a spent budget refuses the files (429), not the report.
- For the whole server: when the free space under the instance folder falls below
  INTAKE_STORAGE_MIN_FREE_MB, new files are refused (503) with the form given back as it was typed, and a
  report without files is still accepted (its text costs a few kilobytes). Administrators see a warning
  on every officer page; `storage_low()` is the one question a notification worker asks.
"""

from __future__ import annotations

import logging
import math
import shutil
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import gettext
from limits import parse_many

from . import storage
from .extensions import client_key, counts, limiter

log = logging.getLogger(__name__)
MB = 1024 * 1024
UPLOAD_SCOPE = "citizen-upload-mb"


@dataclass(frozen=True)
class StorageLow:
    """Free space under the instance folder is below the configured floor."""

    free_bytes: int
    floor_bytes: int
    path: str

    def __str__(self) -> str:
        return (
            f"storage low: {self.free_bytes // MB} MB free under {self.path}, "
            f"below INTAKE_STORAGE_MIN_FREE_MB={self.floor_bytes // MB}; new files are refused"
        )


def storage_low() -> StorageLow | None:
    """Whether new files must be refused now (None: there is room). Cheap: one statvfs."""
    floor = int(current_app.config["STORAGE_MIN_FREE_MB"]) * MB
    if floor <= 0:
        return None
    folder = getattr(storage.current(), "folder", None)
    if folder is None:  # object storage: its capacity is the cluster's; a full store answers 503 anyway
        return None
    path = Path(folder)
    while not path.is_dir() and path != path.parent:  # not made yet: the disk it will be made on
        path = path.parent
    try:
        free = shutil.disk_usage(path).free
    except OSError:  # an unusable store is the store's own 503 (StoreUnavailable), not a space question
        return None
    return StorageLow(free, floor, str(path)) if free < floor else None


def refusal_message() -> str:
    """What a citizen (or an officer recording a case) is told when files are refused for lack of space."""
    return gettext(
        "Files cannot be accepted at the moment: the server is short of storage space. Send your report "
        "without the files now (you can add them later with your tracking code), or try again later."
    )


def megabytes(size: int) -> int:
    return math.ceil(size / MB) if size > 0 else 0


def spend_upload_budget(size: int) -> bool:
    """Charge `size` bytes (in whole megabytes) to this client's upload budget; False once it is spent.

    Atomic in the limiter's storage (increment, then compare), so parallel uploads cannot all pass; while
    that storage is away, counted in this process's memory (extensions.counts).
    """
    cost = megabytes(size)
    if cost == 0 or not limiter.enabled:
        return True
    prefix = str(current_app.config.get("RATELIMIT_KEY_PREFIX") or "")
    identifiers = [*([prefix] if prefix else []), client_key(), UPLOAD_SCOPE]
    return all(
        counts.hit(item, *identifiers, cost=cost)
        for item in parse_many(str(current_app.config["RATELIMIT_UPLOAD_MB"]))
    )
