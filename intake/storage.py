"""Where encrypted files live: one small interface, a folder backend (`file:`) and an S3 backend (`s3://`).

Callers hand a store ciphertext only (attachments.py encrypts before `put`, decrypts after `open`), under
names from `new_name()`: 128 random bits in hex, so an object's name tells nothing of its case, its
channel, its tenant or its file name. `put` streams: the file backend writes chunk by chunk to a `.part`
file, fsyncs it and renames it; the S3 backend sends parts of PART_SIZE bytes in a multipart upload
(one PUT for a small object), so memory stays at one part however large the file. When `put` returns,
the object is durable (fsynced, or acknowledged by the store); when it raises, no object has that name
(a crash may leave a `.part` file or an unfinished multipart upload, which `sweep_unfinished` removes).

A store that cannot be reached or refuses to work raises StoreUnavailable (the web answers 503 and keeps
what the visitor typed); a name that is not there raises ObjectMissing.

    INTAKE_STORAGE_URL=file:                   the instance folder's attachments/ (the default)
    INTAKE_STORAGE_URL=file:/srv/files         a folder of your choice (objects directly inside it)
    INTAKE_STORAGE_URL=s3://BUCKET/PREFIX      objects BUCKET/PREFIX/<name>, through boto3, with
        INTAKE_S3_ENDPOINT_URL (empty: AWS), INTAKE_S3_ACCESS_KEY, INTAKE_S3_SECRET_KEY (empty: boto3's
        own chain: environment, config files, instance role), INTAKE_S3_REGION, INTAKE_S3_ADDRESSING_STYLE,
        INTAKE_S3_CONNECT_TIMEOUT, INTAKE_S3_READ_TIMEOUT, INTAKE_S3_MAX_ATTEMPTS
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import secrets
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

log = logging.getLogger(__name__)

NAME = re.compile(r"[0-9a-f]{32}")
READ_CHUNK = 64 * 1024
PART_SIZE = 8 * 1024 * 1024  # S3 parts are at least 5 MiB (but the last); 10,000 parts = 80 GB at most
BUCKET = re.compile(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]")


class StorageError(Exception):
    """Base of the named failures of a store (messages are safe to show an operator: no secrets)."""


class StoreUnavailable(StorageError):
    """The store could not be reached, timed out or refused the request: try again later."""


class ObjectMissing(StorageError):
    """No object has this name."""


class StorageConfigError(ValueError):
    """INTAKE_STORAGE_URL (or an S3 setting) cannot be used."""


@dataclass(frozen=True)
class ObjectInfo:
    name: str
    size: int
    modified: datetime


def new_name() -> str:
    """A fresh object name: 128 random bits, hex. It reveals nothing and never repeats."""
    return secrets.token_hex(16)


def iter_stream(stream: BinaryIO, size: int = READ_CHUNK) -> Iterator[bytes]:
    """The bytes of a readable stream, in pieces (to `put` a file that is already encrypted)."""
    while chunk := stream.read(size):
        yield chunk


class Store(ABC):
    """A flat namespace of immutable objects. Every name given to it is a `new_name()`."""

    #: A stable description of where the objects are (no credentials): migration records use it.
    identity: str

    @abstractmethod
    def put(self, name: str, chunks: Iterable[bytes]) -> int:
        """Store the concatenated chunks under `name`, durably; returns the size. Raises StoreUnavailable."""

    @abstractmethod
    def open(self, name: str) -> BinaryIO:
        """A buffered reader of the object (with `peek`). Raises ObjectMissing or StoreUnavailable."""

    @abstractmethod
    def stat(self, name: str) -> ObjectInfo | None:
        """Size and time of the object, None if there is none by that name."""

    @abstractmethod
    def delete(self, name: str, overwrite: bool = False) -> None:
        """Remove the object if it is there (`overwrite`: zero its bytes first where the backend can)."""

    @abstractmethod
    def list_objects(self) -> Iterator[ObjectInfo]:
        """Every complete object (for orphan sweeps, backups, migrations and emptiness checks)."""

    @abstractmethod
    def sweep_unfinished(self, older_than: datetime) -> list[str]:
        """Remove uploads that never completed and began before `older_than`; returns what went."""

    def exists(self, name: str) -> bool:
        return self.stat(name) is not None

    def is_empty(self) -> bool:
        return next(iter(self.list_objects()), None) is None


def check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise ValueError("not an object name")
    return name


# --- a folder ------------------------------------------------------------------------------------


class FileStore(Store):
    """Objects as files in one folder: written to `<name>.part`, fsynced, renamed, folder fsynced."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.identity = f"file:{self.folder}"

    def _ready(self) -> Path:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(f"the storage folder cannot be used ({exc.strerror})") from exc
        return self.folder

    def put(self, name: str, chunks: Iterable[bytes]) -> int:
        folder = self._ready()
        final = folder / check_name(name)
        part = folder / (name + ".part")
        size = 0
        try:
            with open(part, "wb") as sink:  # a stale .part of a cut-short copy is replaced
                for chunk in chunks:
                    sink.write(chunk)
                    size += len(chunk)
                sink.flush()
                os.fsync(sink.fileno())
            os.replace(part, final)
            _fsync_dir(folder)
        except BaseException as exc:
            part.unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise StoreUnavailable(f"the storage folder refused a write ({exc.strerror})") from exc
            raise
        return size

    def open(self, name: str) -> BinaryIO:
        try:
            return open(self.folder / check_name(name), "rb")  # noqa: SIM115 - the caller closes it
        except FileNotFoundError as exc:
            raise ObjectMissing(name) from exc
        except OSError as exc:
            raise StoreUnavailable(f"the storage folder cannot be read ({exc.strerror})") from exc

    def stat(self, name: str) -> ObjectInfo | None:
        try:
            st = (self.folder / check_name(name)).stat()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreUnavailable(f"the storage folder cannot be read ({exc.strerror})") from exc
        return ObjectInfo(name, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC))

    def delete(self, name: str, overwrite: bool = False) -> None:
        for path in (self.folder / check_name(name), self.folder / (name + ".part")):
            try:
                if overwrite:
                    _zero(path)
                path.unlink()
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise StoreUnavailable(f"the storage folder refused a deletion ({exc.strerror})") from exc

    def _entries(self) -> Iterator[os.DirEntry[str]]:
        try:
            with os.scandir(self.folder) as found:
                yield from (e for e in found if e.is_file(follow_symlinks=False))
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StoreUnavailable(f"the storage folder cannot be listed ({exc.strerror})") from exc

    def list_objects(self) -> Iterator[ObjectInfo]:
        for entry in self._entries():
            if entry.name.endswith(".part"):
                continue
            st = entry.stat(follow_symlinks=False)
            yield ObjectInfo(entry.name, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC))

    def sweep_unfinished(self, older_than: datetime) -> list[str]:
        removed = []
        for entry in list(self._entries()):
            if not entry.name.endswith(".part"):
                continue
            if datetime.fromtimestamp(entry.stat().st_mtime, UTC) > older_than:
                continue
            Path(entry.path).unlink(missing_ok=True)
            removed.append(entry.name)
        return removed


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _zero(path: Path) -> None:
    """Overwrite a file's bytes with zeros, in place (retention: the blocks keep no ciphertext)."""
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        for offset in range(0, size, READ_CHUNK):
            fh.write(b"\x00" * min(READ_CHUNK, size - offset))
        fh.flush()
        os.fsync(fh.fileno())


# --- S3-compatible object storage -----------------------------------------------------------------


@dataclass(frozen=True)
class S3Settings:
    endpoint_url: str = ""
    access_key: str = ""
    secret_key: str = ""
    region: str = "us-east-1"
    addressing_style: str = "path"
    connect_timeout: float = 3.0
    read_timeout: float = 30.0
    attempts: int = 3

    def __repr__(self) -> str:  # never the secret key, in a log line or a trace
        return f"S3Settings(endpoint_url={self.endpoint_url!r}, region={self.region!r})"


class _BodyReader(io.RawIOBase):
    """A raw stream over botocore's StreamingBody, so io.BufferedReader can give `peek` and chunks."""

    def __init__(self, body: Any) -> None:
        super().__init__()
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._body.read(len(buffer))
        except Exception as exc:  # botocore's read timeouts and cut connections, urllib3's protocol errors
            raise StoreUnavailable("the object store stopped sending an object") from exc
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            with contextlib.suppress(Exception):
                self._body.close()
        super().close()


class S3Store(Store):
    """Objects `PREFIX/<name>` in one bucket of an S3-compatible store (SeaweedFS, Garage, Ceph RGW, AWS)."""

    def __init__(self, bucket: str, prefix: str, settings: S3Settings) -> None:
        self.bucket = bucket
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        self.settings = settings
        where = f" at {settings.endpoint_url}" if settings.endpoint_url else ""
        self.identity = f"s3://{bucket}/{self.prefix}{where}"
        self._client: Any = None
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        """The boto3 client, made on first use (boto3 clients are thread-safe; making one is not cheap)."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = _make_client(self.settings)
        return self._client

    def key(self, name: str) -> str:
        return self.prefix + check_name(name)

    def put(self, name: str, chunks: Iterable[bytes]) -> int:
        key = self.key(name)
        part = bytearray()
        size = 0
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []
        try:
            with _s3_errors():
                for chunk in chunks:
                    part += chunk
                    size += len(chunk)
                    if len(part) < PART_SIZE:
                        continue
                    if upload_id is None:
                        answer = self.client.create_multipart_upload(Bucket=self.bucket, Key=key)
                        upload_id = str(answer["UploadId"])
                    # The buffer itself is the body (no copy); a new one fills meanwhile.
                    parts.append(self._upload_part(key, upload_id, len(parts) + 1, part))
                    part = bytearray()
                if upload_id is None:
                    self.client.put_object(Bucket=self.bucket, Key=key, Body=part)
                    return size
                if part:
                    parts.append(self._upload_part(key, upload_id, len(parts) + 1, part))
                self.client.complete_multipart_upload(
                    Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
                )
                upload_id = None
                return size
        finally:
            if upload_id is not None:  # failed midway: leave no half upload behind (else the sweep does)
                with contextlib.suppress(Exception):
                    self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)

    def _upload_part(self, key: str, upload_id: str, number: int, body: bytearray) -> dict[str, Any]:
        answer = self.client.upload_part(
            Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body
        )
        return {"PartNumber": number, "ETag": answer["ETag"]}

    def open(self, name: str) -> BinaryIO:
        with _s3_errors(missing=name):
            answer = self.client.get_object(Bucket=self.bucket, Key=self.key(name))
        return io.BufferedReader(_BodyReader(answer["Body"]), buffer_size=READ_CHUNK)

    def stat(self, name: str) -> ObjectInfo | None:
        try:
            with _s3_errors(missing=name):
                head = self.client.head_object(Bucket=self.bucket, Key=self.key(name))
        except ObjectMissing:
            return None
        return ObjectInfo(name, int(head["ContentLength"]), _utc(head["LastModified"]))

    def delete(self, name: str, overwrite: bool = False) -> None:
        # An object store cannot overwrite in place; deleting is all it offers (see docs/deployment.md:
        # versioning off, or a lifecycle rule that expires old versions at once).
        with _s3_errors():
            self.client.delete_object(Bucket=self.bucket, Key=self.key(name))

    def list_objects(self) -> Iterator[ObjectInfo]:
        with _s3_errors():
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix
            )
            for page in pages:
                for item in page.get("Contents", []):
                    name = item["Key"][len(self.prefix) :]
                    if "/" in name:  # something else under a deeper prefix: not ours
                        continue
                    yield ObjectInfo(name, int(item["Size"]), _utc(item["LastModified"]))

    def sweep_unfinished(self, older_than: datetime) -> list[str]:
        removed = []
        with _s3_errors():
            pages = self.client.get_paginator("list_multipart_uploads").paginate(
                Bucket=self.bucket, Prefix=self.prefix
            )
            for page in pages:
                for upload in page.get("Uploads", []):
                    if _utc(upload["Initiated"]) > older_than:
                        continue
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
                    removed.append(upload["Key"][len(self.prefix) :] + " (unfinished upload)")
        return removed

    def create_bucket(self) -> None:
        """Make the bucket if it is not there (tests and first set-up; operators may make it themselves)."""
        with _s3_errors():
            try:
                self.client.head_bucket(Bucket=self.bucket)
            except Exception as exc:
                if _error_code(exc) not in ("404", "NoSuchBucket", "NotFound"):
                    raise
                try:
                    self.client.create_bucket(Bucket=self.bucket)
                except Exception as again:  # made meanwhile by another process: fine
                    if _error_code(again) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                        raise


def _make_client(settings: S3Settings) -> Any:
    import boto3
    from botocore.config import Config as BotoConfig

    config = BotoConfig(
        region_name=settings.region or None,
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        retries={"max_attempts": settings.attempts, "mode": "standard"},
        s3={"addressing_style": settings.addressing_style or "auto"},
        # S3-compatible stores (Garage, Ceph RGW, older SeaweedFS) do not all take the newer default
        # checksums; the ciphertext carries its own authentication (AES-GCM) anyway.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        user_agent_appid="intake",
    )
    session = boto3.session.Session()
    return session.client(
        "s3",
        endpoint_url=settings.endpoint_url or None,
        aws_access_key_id=settings.access_key or None,
        aws_secret_access_key=settings.secret_key or None,
        config=config,
    )


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error", {})
        code = str(error.get("Code") or "")
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return code or str(status or "")
    return ""


@contextlib.contextmanager
def _s3_errors(missing: str | None = None) -> Iterator[None]:
    """botocore's failures as ours: a missing object, or a store that is away (never a secret in the text)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        code = _error_code(exc)
        if missing is not None and code in ("NoSuchKey", "404", "NotFound"):
            raise ObjectMissing(missing) from exc
        log.warning("object store refused a request: %s", code)
        raise StoreUnavailable(f"the object store refused the request ({code})") from exc
    except BotoCoreError as exc:
        log.warning("object store unreachable: %s", type(exc).__name__)
        raise StoreUnavailable(f"the object store cannot be reached ({type(exc).__name__})") from exc


# --- from configuration ----------------------------------------------------------------------------


def s3_settings(config: Mapping[str, Any]) -> S3Settings:
    try:
        return S3Settings(
            endpoint_url=str(config.get("S3_ENDPOINT_URL") or ""),
            access_key=str(config.get("S3_ACCESS_KEY") or ""),
            secret_key=str(config.get("S3_SECRET_KEY") or ""),
            region=str(config.get("S3_REGION") or "us-east-1"),
            addressing_style=str(config.get("S3_ADDRESSING_STYLE") or "path"),
            connect_timeout=float(config.get("S3_CONNECT_TIMEOUT") or 3.0),
            read_timeout=float(config.get("S3_READ_TIMEOUT") or 30.0),
            attempts=max(1, int(config.get("S3_MAX_ATTEMPTS") or 3)),
        )
    except (TypeError, ValueError) as exc:
        raise StorageConfigError("the INTAKE_S3_* timeouts and attempts must be numbers") from exc


def for_url(url: str, config: Mapping[str, Any]) -> Store:
    """The store a URL names; `file:` is the instance folder's attachments/. Raises StorageConfigError."""
    url = (url or "file:").strip()
    if url == "file:" or url == "file://":
        return FileStore(Path(str(config["INSTANCE_DIR"])) / "attachments")
    if url.startswith("file:"):
        path = url.removeprefix("file:")
        path = path.removeprefix("//") if path.startswith("///") else path
        if not path.startswith("/"):
            raise StorageConfigError("a file: storage URL takes an absolute path (file:/srv/files)")
        return FileStore(Path(path))
    if url.startswith("s3://"):
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        if not BUCKET.fullmatch(bucket):
            raise StorageConfigError("s3:// storage URL: the bucket name is not valid (s3://BUCKET/PREFIX)")
        if prefix and not re.fullmatch(r"[A-Za-z0-9._\-/]+", prefix):
            raise StorageConfigError("s3:// storage URL: the prefix may hold letters, digits, . _ - / only")
        return S3Store(bucket, prefix, s3_settings(config))
    raise StorageConfigError("INTAKE_STORAGE_URL must be file: or s3://BUCKET/PREFIX")


def describe(url: str) -> str:
    """A storage URL as it may be printed (it holds no credential; keys are separate settings)."""
    return (url or "file:").strip()


def init_app(app: Any) -> None:
    """Bind the configured store to the app (no connection is made until a file is stored or read)."""
    app.extensions["intake.store"] = for_url(str(app.config.get("STORAGE_URL") or "file:"), app.config)


def current() -> Store:
    """The store of the current app."""
    from flask import current_app

    store: Store = current_app.extensions["intake.store"]
    return store
