"""Moving an instance's encrypted files from one store to another (`migrate-storage`), resumably.

Each object that an attachment row names is streamed from the source store into the target as it is
(ciphertext; nothing is decrypted), hashed on the way, then read back from the target and hashed again.
Only when the size and SHA-256 agree is a StorageCopy row committed: the progress lives in the database,
so a run that stops (a crash, the store away, Ctrl-C) is simply run again and continues with what is not
recorded yet (a recorded object still present on the target with the recorded size is not copied again).

Nothing is deleted from the source unless asked (`delete_source`), and then only once the app already
uses the target (else it would lose the files it serves) and only objects whose copy is recorded,
present on the target with the recorded size, and whose source still has that size.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from . import dates
from .models import Attachment, StorageCopy
from .storage import Store, iter_stream


class MoveRefused(Exception):
    """The move cannot start (the message says why)."""


class MoveFailed(Exception):
    """A copy did not verify; what was verified before it stays recorded."""


@dataclass
class MoveResult:
    copied: int = 0
    already: int = 0
    bytes: int = 0
    deleted: int = 0
    missing: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.missing


def _hashed(chunks: Iterable[bytes], digest: hashlib._Hash) -> Iterator[bytes]:
    for chunk in chunks:
        digest.update(chunk)
        yield chunk


def _sha256_of(store: Store, name: str) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with store.open(name) as fh:
        for chunk in iter_stream(fh):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _names(session: Session) -> list[str]:
    names = list(session.scalars(select(Attachment.stored_name).order_by(Attachment.id)))
    session.rollback()  # end the read transaction: a long copy holds no snapshot open
    return names


def copy_all(
    session: Session, source: Store, target: Store, progress: Callable[[int, int], None] | None = None
) -> MoveResult:
    """Copy every attachment object that is not verified on the target yet. Raises MoveFailed,
    StoreUnavailable (either store away: run again later)."""
    if source.identity == target.identity:
        raise MoveRefused("the source and the target are the same storage")
    result = MoveResult()
    names = _names(session)
    for number, name in enumerate(names, 1):
        record = session.get(StorageCopy, (target.identity, name))
        there = target.stat(name)
        if record is not None and there is not None and there.size == record.size:
            result.already += 1
        elif (here := source.stat(name)) is None:
            if session.scalar(select(Attachment.id).where(Attachment.stored_name == name)) is not None:
                result.missing.append(name)  # a row without its object: nothing to copy
        else:
            digest = hashlib.sha256()
            with source.open(name) as fh:
                written = target.put(name, _hashed(iter_stream(fh), digest))
            size, check = _sha256_of(target, name)
            if not (written == size == here.size and check == digest.hexdigest()):
                raise MoveFailed(f"the copy of {name} on the target does not match its source")
            session.merge(
                StorageCopy(target=target.identity, stored_name=name, size=size, sha256=check,
                            copied_at=dates.now())
            )
            session.commit()
            result.copied += 1
            result.bytes += size
        if progress is not None:
            progress(number, len(names))
    session.rollback()
    return result


def delete_source(session: Session, source: Store, target: Store, result: MoveResult) -> None:
    """Remove from the source every object whose verified copy is on the target (after `copy_all`)."""
    if result.missing:
        raise MoveRefused(f"{len(result.missing)} attachments have no object anywhere: nothing deleted")
    for name in _names(session):
        record = session.get(StorageCopy, (target.identity, name))
        there = target.stat(name)
        if record is None or there is None or there.size != record.size:
            raise MoveFailed(f"{name} is not verified on the target: nothing more deleted")
        here = source.stat(name)
        if here is None:
            continue
        if here.size != record.size:
            raise MoveFailed(f"{name} differs between the source and the target: nothing more deleted")
        source.delete(name)
        result.deleted += 1
    # Copies recorded as being on the source (an earlier move the other way) are gone now.
    session.execute(delete(StorageCopy).where(StorageCopy.target == source.identity))
    session.commit()
