"""The store interface on both backends: streamed put (multipart on S3), reads, listing, sweeps, config."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from config import ConfigError
from intake import create_app, storage
from intake.storage import FileStore, S3Store, Store

from .conftest import app_config, on_both_stores, store_of
from .seaweed import SeaweedS3


@pytest.fixture
def store(make_app: Any) -> Store:
    return store_of(make_app(setup=False))


def _pieces(data: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for offset in range(0, len(data), size):
        yield data[offset : offset + size]


@on_both_stores
def test_put_open_stat_list_delete(store: Store) -> None:
    small, large = storage.new_name(), storage.new_name()
    assert small != large and storage.NAME.fullmatch(small)
    big = os.urandom(storage.PART_SIZE + 300_000)  # more than one part: a multipart upload on S3
    assert store.put(small, [b"ciphertext ", b"bytes"]) == 16
    assert store.put(large, _pieces(big)) == len(big)
    with store.open(small) as fh:
        assert fh.peek(1)[:1] == b"c" and fh.read() == b"ciphertext bytes"  # type: ignore[attr-defined]
    with store.open(large) as fh:
        assert fh.read() == big
    info = store.stat(large)
    assert info is not None and info.size == len(big)
    assert abs((info.modified - datetime.now(UTC)).total_seconds()) < 120
    assert {i.name: i.size for i in store.list_objects()} == {small: 16, large: len(big)}
    store.delete(small)
    store.delete(small)  # gone already: fine
    assert not store.exists(small) and store.exists(large)
    with pytest.raises(storage.ObjectMissing):
        store.open(small)
    store.delete(large, overwrite=True)
    assert store.is_empty()


@on_both_stores
def test_a_put_that_fails_midway_leaves_nothing(store: Store) -> None:
    name = storage.new_name()

    def broken() -> Iterator[bytes]:
        yield os.urandom(storage.PART_SIZE + 1)  # the first part is sent already
        raise RuntimeError("the client went away")

    with pytest.raises(RuntimeError):
        store.put(name, broken())
    assert not store.exists(name) and store.is_empty()
    assert store.sweep_unfinished(datetime.now(UTC) + timedelta(hours=1)) == []  # aborted at once


@on_both_stores
def test_names_are_checked(store: Store) -> None:
    for bad in ("../../etc/passwd", "a" * 31, "A" * 32, "x/" + "a" * 32, ""):
        with pytest.raises(ValueError, match="not an object name"):
            store.put(bad, [b"x"])
        with pytest.raises(ValueError, match="not an object name"):
            store.open(bad)


def test_unfinished_uploads_are_swept(s3_server: SeaweedS3, tmp_path: Path) -> None:
    s3 = s3_server.store("u" + secrets.token_hex(6))
    name = storage.new_name()
    upload = s3.client.create_multipart_upload(Bucket=s3.bucket, Key=s3.key(name))["UploadId"]
    s3.client.upload_part(Bucket=s3.bucket, Key=s3.key(name), UploadId=upload, PartNumber=1, Body=b"x")
    assert s3.sweep_unfinished(datetime.now(UTC) - timedelta(hours=1)) == []  # too young
    assert s3.sweep_unfinished(datetime.now(UTC) + timedelta(minutes=1)) == [f"{name} (unfinished upload)"]
    left = s3.client.list_multipart_uploads(Bucket=s3.bucket, Prefix=s3.prefix).get("Uploads", [])
    assert left == []
    files = FileStore(tmp_path / "files")
    files.folder.mkdir()
    (files.folder / f"{name}.part").write_bytes(b"half")
    assert list(files.list_objects()) == []
    assert files.sweep_unfinished(datetime.now(UTC) + timedelta(minutes=1)) == [f"{name}.part"]


def test_the_store_data_folder_is_really_searched(s3_server: SeaweedS3) -> None:
    """The secrecy tests grep SeaweedFS's data folder: a plaintext object put there is found by the grep."""
    assert s3_server.data_dir is not None
    s3 = s3_server.store("c" + secrets.token_hex(6))
    marker = ("CONTROL" + secrets.token_hex(6)).encode()
    s3.put(storage.new_name(), [b"evidence " + marker + b" as a citizen might type it"])
    found = [p for p in s3_server.data_dir.rglob("*") if p.is_file() and marker in p.read_bytes()]
    assert found



def test_storage_urls(tmp_path: Path) -> None:
    config = {"INSTANCE_DIR": str(tmp_path), "S3_ENDPOINT_URL": "http://127.0.0.1:9", "S3_SECRET_KEY": "S3C"}
    default = storage.for_url("file:", config)
    assert isinstance(default, FileStore) and default.folder == tmp_path / "attachments"
    for url in ("file:/srv/files", "file:///srv/files"):
        chosen = storage.for_url(url, config)
        assert isinstance(chosen, FileStore) and chosen.folder == Path("/srv/files")
    s3 = storage.for_url("s3://intake-files/town/a", config)
    assert isinstance(s3, S3Store) and (s3.bucket, s3.prefix) == ("intake-files", "town/a/")
    assert s3.key("a" * 32) == "town/a/" + "a" * 32
    whole = storage.for_url("s3://intake-files", config)
    assert isinstance(whole, S3Store) and whole.key("a" * 32) == "a" * 32
    assert "S3C" not in s3.identity + repr(s3.settings)
    for bad in ("file:relative", "ftp://x/y", "s3://UPPER/x", "s3://b/../x y", "s3://"):
        with pytest.raises(storage.StorageConfigError):
            storage.for_url(bad, config)


@pytest.mark.parametrize(
    "extra",
    [{"STORAGE_URL": "s3://bad_bucket!"}, {"STORAGE_URL": "minio:x"}, {"S3_MAX_ATTEMPTS": "many"}],
)
def test_a_bad_storage_setting_stops_the_app_with_a_reason(
    database_url: str, tmp_path: Path, extra: dict[str, Any]
) -> None:
    with pytest.raises(ConfigError):
        create_app(app_config(database_url, tmp_path, **{"STORAGE_URL": "s3://ok-bucket/x", **extra}))


def test_the_default_is_the_instance_folder(make_app: Any) -> None:
    app = make_app(setup=False)
    assert app.config["STORAGE_URL"] == "file:"
    store = store_of(app)
    assert isinstance(store, FileStore)
    assert store.folder == Path(app.config["INSTANCE_DIR"]) / "attachments"
