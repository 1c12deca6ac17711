"""`migrate-storage`: an instance's files moved from `file:` to `s3:` and back, verified and resumably."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from intake import attachments, cases, db, keyring, storage, storage_move
from intake.models import Case, StorageCopy
from intake.storage import FileStore, ObjectInfo, Store, StoreUnavailable

from .conftest import PASSWORD, store_of
from .factories import PNG_1PX, Factory
from .seaweed import SeaweedS3


def _cases(app: Flask, count: int, label: str) -> dict[str, bytes]:
    """`count` cases with two files each; returns file name -> bytes."""
    sent: dict[str, bytes] = {}
    with app.app_context():
        factory = Factory(app, db.session())
        for i in range(count):
            name = f"{label}-{i}.txt"
            sent[name] = f"{label} {i} ".encode() * 100
            factory.case("feedback", f"{label} {i}", files=[(sent[name], name), (PNG_1PX, "p.png")])
    return sent


def _read_all(app: Flask) -> dict[str, bytes]:
    """Every attachment of every case, decrypted through the admin's keys from the app's store."""
    out: dict[str, bytes] = {}
    with app.app_context():
        session = db.session()
        admin = Factory(app, session).admin()
        private = keyring.unlock(admin, PASSWORD)
        for case in session.scalars(select(Case)):
            keys = cases.officer_keys(session, admin, private, case)
            for att in case.attachments:
                name = str(attachments.read_meta(att, keys.content)["name"])
                if name != "p.png":
                    out[name] = attachments.read_all(attachments.open_plain(store_of(app), att, keys.content))
    return out


def _copies(app: Flask) -> int:
    with app.app_context():
        return int(db.session().scalar(select(func.count()).select_from(StorageCopy)) or 0)


def test_move_from_file_to_s3_and_back(make_app: Any, s3_server: SeaweedS3) -> None:
    s3 = s3_server.config("m" + secrets.token_hex(6))
    url = s3["STORAGE_URL"]
    credentials = {k: v for k, v in s3.items() if k != "STORAGE_URL"}
    on_file = make_app(**credentials)
    sent = _cases(on_file, 3, "first")
    runner = on_file.test_cli_runner()

    result = runner.invoke(args=["migrate-storage", "--to", url])
    assert result.exit_code == 0, result.output
    assert "Copied 6 files" in result.output and "0 were already there" in result.output
    assert f"set INTAKE_STORAGE_URL={url}" in result.output
    assert _copies(on_file) == 6
    again = runner.invoke(args=["migrate-storage", "--to", url])
    assert "Copied 0 files" in again.output and "6 were already there" in again.output
    refused = runner.invoke(args=["migrate-storage", "--to", url, "--delete-source"])
    assert refused.exit_code == 1 and "only once the app uses the target" in refused.output
    assert len(list(store_of(on_file).list_objects())) == 6  # nothing deleted

    sent |= _cases(on_file, 1, "meanwhile")  # arrives on file: after the copy, before the switch
    on_s3 = make_app(setup=False, **s3)  # the same instance, switched to s3:
    result = on_s3.test_cli_runner().invoke(
        args=["migrate-storage", "--from", "file:", "--to", url, "--delete-source"]
    )
    assert result.exit_code == 0, result.output
    assert "Copied 2 files" in result.output and "Deleted 8 files" in result.output
    assert store_of(on_file).is_empty()
    assert _read_all(on_s3) == sent

    result = on_s3.test_cli_runner().invoke(args=["migrate-storage", "--to", "file:"])
    assert result.exit_code == 0 and "Copied 8 files" in result.output, result.output
    back = make_app(setup=False, **credentials)
    result = back.test_cli_runner().invoke(
        args=["migrate-storage", "--from", url, "--to", "file:", "--delete-source"]
    )
    assert result.exit_code == 0 and "Deleted 8 files" in result.output, result.output
    assert store_of(on_s3).is_empty()
    assert _read_all(back) == sent


class FailingAfter(Store):
    """A target store that goes away after `good` objects (a crash, a network cut)."""

    def __init__(self, inner: Store, good: int, corrupt: bool = False) -> None:
        self.inner, self.good, self.corrupt = inner, good, corrupt
        self.identity = inner.identity

    def put(self, name: str, chunks: Iterable[bytes]) -> int:
        if self.good <= 0:
            raise StoreUnavailable("the test cut the network")
        self.good -= 1
        if self.corrupt:
            data = bytearray(b"".join(chunks))
            data[-1] ^= 1
            return self.inner.put(name, [bytes(data)])
        return self.inner.put(name, chunks)

    def open(self, name: str) -> Any:
        return self.inner.open(name)

    def stat(self, name: str) -> ObjectInfo | None:
        return self.inner.stat(name)

    def delete(self, name: str, overwrite: bool = False) -> None:
        self.inner.delete(name, overwrite)

    def list_objects(self) -> Any:
        return self.inner.list_objects()

    def sweep_unfinished(self, older_than: Any) -> list[str]:
        return self.inner.sweep_unfinished(older_than)


def test_an_interrupted_move_continues_where_it_stopped(app: Flask, s3_server: SeaweedS3) -> None:
    _cases(app, 3, "resume")
    target = s3_server.store("m" + secrets.token_hex(6))
    with app.app_context():
        session = db.session()
        with pytest.raises(StoreUnavailable):
            storage_move.copy_all(session, store_of(app), FailingAfter(target, good=2))
        assert _copies(app) == 2
        result = storage_move.copy_all(session, store_of(app), target)
    assert (result.copied, result.already) == (4, 2)
    assert len(list(target.list_objects())) == 6 and _copies(app) == 6


def test_a_copy_that_does_not_verify_is_not_recorded(app: Flask, tmp_path: Any) -> None:
    _cases(app, 1, "verify")
    target = FileStore(tmp_path / "elsewhere")
    with app.app_context():
        with pytest.raises(storage_move.MoveFailed, match="does not match"):
            storage_move.copy_all(db.session(), store_of(app), FailingAfter(target, good=9, corrupt=True))
        assert _copies(app) == 0
        with pytest.raises(storage_move.MoveRefused):
            storage_move.copy_all(db.session(), store_of(app), store_of(app))


def test_an_attachment_without_its_file_is_named_and_the_rest_copied(make_app: Any, tmp_path: Any) -> None:
    app = make_app()
    _cases(app, 2, "missing")
    lost = next(iter(store_of(app).list_objects())).name
    store_of(app).delete(lost)
    result = app.test_cli_runner().invoke(args=["migrate-storage", "--to", f"file:{tmp_path / 'new'}"])
    assert result.exit_code == 1
    assert "1 attachments have no file in the source" in result.output and lost in result.output
    assert len(list(storage.FileStore(tmp_path / "new").list_objects())) == 3


def test_a_store_away_mid_move_says_run_again(make_app: Any) -> None:
    app = make_app(S3_ENDPOINT_URL="http://127.0.0.1:9", S3_MAX_ATTEMPTS=1, S3_CONNECT_TIMEOUT=1)
    _cases(app, 1, "away")
    result = app.test_cli_runner().invoke(args=["migrate-storage", "--to", "s3://nowhere/x"])
    assert result.exit_code == 1 and "run the command again" in result.output
    bad = app.test_cli_runner().invoke(args=["migrate-storage", "--to", "ftp://x"])
    assert bad.exit_code == 1 and "INTAKE_STORAGE_URL must be" in bad.output
