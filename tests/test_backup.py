"""Backup and restore: a consistent snapshot while the app runs, only ciphertext inside, read back whole.

Every test runs with the instance on `file:` and on `s3:`; the main one restores onto the other storage
(a backup holds the encrypted objects whatever the source; restore writes them to the configured store).
"""

from __future__ import annotations

import io
import json
import secrets
import tarfile
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import insert, select

from intake import attachments, audit, backup, cases, create_app, db, keyring, storage, tenancy
from intake.models import Case, Channel, Officer, OfficerSession, Setting

from . import factories
from .conftest import ADMIN, PASSWORD, app_config, create_schema, on_both_stores, store_of
from .officer_helpers import OfficerActions

MARK = "ZQX" + secrets.token_hex(4).upper()
PNG = factories.PNG_1PX

pytestmark = on_both_stores


@pytest.fixture
def other_storage(storage: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    """Settings for the storage kind the test's instance does not use (a fresh, empty store)."""
    if storage == "s3":
        return {}
    return {**request.getfixturevalue("s3_server").config("r" + secrets.token_hex(6))}


@pytest.fixture
def same_storage(storage: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    """Settings for a fresh, empty store of the same kind as the test's instance."""
    if storage == "file":
        return {}
    return {**request.getfixturevalue("s3_server").config("r" + secrets.token_hex(6))}


@pytest.fixture
def second_database(empty_database: str) -> str:
    """A second, empty database on the same engine as the suite's (no schema)."""
    return empty_database


def _restored_app(url: str, tmp_path: Path, storage: dict[str, Any]) -> Flask:
    return create_app(
        app_config(
            url,
            tmp_path,
            INSTANCE_DIR=str(tmp_path / "restored" / "instance"),
            KEYS_DIR=str(tmp_path / "restored" / "keys"),
            **storage,
        )
    )


def _populate(app: Flask) -> dict[str, Any]:
    """Cases in every channel with contact, files, follow-ups, a reply and an internal note."""
    made: dict[str, Any] = {}
    with app.app_context():
        session = db.session()
        factory = factories.Factory(app, session)
        for i, channel in enumerate(Channel):
            files = [(f"{MARK}-FILE-{i}".encode() * 20, f"{MARK}-name-{i}.txt"), (PNG, "photo.png")]
            submitted = factory.case(
                channel, f"{MARK}-DETAILS-{i}", contact=f"{MARK}-CONTACT-{i}", files=files
            )
            found = cases.find_by_token(session, submitted.token)
            clean = [factory.clean_file(f"{MARK}-FOLLOWUP-FILE-{i}".encode(), "more.txt")]
            cases.add_followup(session, found, f"{MARK}-FOLLOWUP-{i}", clean, store_of(app))
            admin = factory.legal()  # every channel, corruption included
            keys = cases.officer_keys(session, admin, keyring.unlock(admin, PASSWORD), submitted.case)
            cases.reply(session, submitted.case, admin, keys, f"{MARK}-REPLY-{i}")
            cases.add_note(session, submitted.case, admin, keys, f"{MARK}-NOTE-{i}")
            session.commit()
            made[submitted.token] = {
                "id": submitted.case.id,
                "details": f"{MARK}-DETAILS-{i}",
                "contact": f"{MARK}-CONTACT-{i}",
                "files": {
                    f"{MARK}-name-{i}.txt": files[0][0],
                    "more.txt": f"{MARK}-FOLLOWUP-FILE-{i}".encode(),
                },
            }
    return made


def test_backup_restores_every_case_readable_and_holds_only_ciphertext(
    make_app: Any, tmp_path: Path, second_database: str, other_storage: dict[str, Any]
) -> None:
    app = make_app()
    made = _populate(app)
    out = tmp_path / "backups" / "intake.tar"

    # A writer holds an open transaction while the backup runs (the app keeps serving).
    with app.app_context(), db.engine().connect() as writer:
        writer.begin()
        tenancy.act_as_host(writer)
        writer.execute(insert(Setting).values(tenant_id=1, name="uncommitted", value=MARK))
        result = app.test_cli_runner().invoke(args=["backup", "--output", str(out)])
        writer.rollback()
    assert result.exit_code == 0, result.output
    assert "3 cases, 9 attachments" in result.output
    assert oct(out.stat().st_mode & 0o777) == "0o600"

    raw = out.read_bytes()
    for secret in [MARK, *made]:
        assert secret.encode() not in raw
        assert secret.replace("-", "").encode() not in raw
    recovery_key = (Path(app.config["KEYS_DIR"]) / "recovery.key").read_bytes()
    assert json.loads(recovery_key)["ciphertext"].encode() not in raw
    with tarfile.open(out) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert "keys/recovery.key" not in names
    assert {"keys/token.secret", "keys/recovery.pub", "keys/channels.pub"} <= set(names)
    assert manifest["cases"] == 3
    assert "recovery.key" in manifest["not_included"]

    restored = _restored_app(second_database, tmp_path, other_storage)
    assert type(store_of(restored)) is not type(store_of(app))  # onto the other storage
    result = restored.test_cli_runner().invoke(args=["restore", str(out)])
    assert result.exit_code == 0, result.output
    assert "Restored 3 cases and 9 attachments" in result.output
    assert sorted(i.name for i in store_of(restored).list_objects()) == sorted(
        i.name for i in store_of(app).list_objects()
    )
    pins = "channels.pub"
    assert (Path(restored.config["KEYS_DIR"]) / pins).read_bytes() == (
        Path(app.config["KEYS_DIR"]) / pins
    ).read_bytes()

    with restored.app_context():
        session = db.session()
        assert audit.verify(session) is None
        assert session.scalar(select(Setting).where(Setting.name == "uncommitted")) is None
        admin = session.scalar(select(Officer).where(Officer.username == factories.LEGAL))
        assert admin is not None  # the legal-unit officer holds every channel, corruption included
        private = keyring.unlock(admin, PASSWORD)
        assert len(session.scalars(select(Case)).all()) == len(made)
        for token, expected in made.items():
            case = session.get(Case, expected["id"])
            assert case is not None
            view = cases.officer_view(session, case, cases.officer_keys(session, admin, private, case))
            assert view.submission["details"] == expected["details"]
            assert view.contact == expected["contact"]
            texts = [item.text for item in view.timeline]
            assert any(t and "REPLY" in t for t in texts) and any(t and "NOTE" in t for t in texts)
            keys = cases.officer_keys(session, admin, private, case)
            files = {}
            for att in case.attachments:
                meta = attachments.read_meta(att, keys.for_kind(att.key))
                plain = attachments.open_plain(store_of(restored), att, keys.content)
                files[meta["name"]] = attachments.read_all(plain)
            assert files.pop("photo.png").startswith(b"\x89PNG")
            assert files == expected["files"]
            found = cases.find_by_token(session, token)
            timeline = cases.citizen_timeline(session, found)
            assert [i.kind for i in timeline][:1] == ["received"]
            assert any(i.kind == "reply" for i in timeline)


def test_restore_refuses_a_non_empty_instance(make_app: Any, tmp_path: Path) -> None:
    app = make_app()
    _populate(app)
    out = tmp_path / "b.tar"
    runner = app.test_cli_runner()
    assert runner.invoke(args=["backup", "--output", str(out)]).exit_code == 0
    result = runner.invoke(args=["restore", str(out)])
    assert result.exit_code == 1
    assert "not empty" in result.output
    with app.app_context():
        assert len(db.session().scalars(select(Case)).all()) == 3


def test_restore_into_an_empty_schema(
    make_app: Any, tmp_path: Path, second_database: str, same_storage: dict[str, Any]
) -> None:
    """An operator may have run `db upgrade` on the new server before restoring: still empty."""
    app = make_app()
    made = _populate(app)
    out = tmp_path / "b.tar"
    assert app.test_cli_runner().invoke(args=["backup", "--output", str(out)]).exit_code == 0
    create_schema(second_database)
    restored = _restored_app(second_database, tmp_path, same_storage)
    result = restored.test_cli_runner().invoke(args=["restore", str(out)])
    assert result.exit_code == 0, result.output
    with restored.app_context():
        for token in made:
            assert cases.find_by_token(db.session(), token).case.id == made[token]["id"]


def _tampered(source: Path, target: Path, member: str, data: bytes) -> None:
    with tarfile.open(source) as src, tarfile.open(target, "w") as dst:
        for info in src.getmembers():
            content = src.extractfile(info).read()  # type: ignore[union-attr]
            if info.name == member:
                content = data
                info.size = len(data)
            dst.addfile(info, io.BytesIO(content))


@pytest.mark.parametrize(
    ("member", "data"),
    [("keys/token.secret", b"forged\n"), ("../escape", b"x"), ("manifest.json", b"{not json")],
)
def test_restore_refuses_altered_or_foreign_backups(
    make_app: Any,
    tmp_path: Path,
    second_database: str,
    member: str,
    data: bytes,
    same_storage: dict[str, Any],
) -> None:
    app = make_app()
    _populate(app)
    good = tmp_path / "b.tar"
    assert app.test_cli_runner().invoke(args=["backup", "--output", str(good)]).exit_code == 0
    bad = tmp_path / "bad.tar"
    _tampered(good, bad, member, data)
    if member == "../escape":
        with tarfile.open(bad, "a") as tar:
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    restored = _restored_app(second_database, tmp_path, same_storage)
    result = restored.test_cli_runner().invoke(args=["restore", str(bad)])
    assert result.exit_code == 1
    assert not (tmp_path / "escape").exists()
    assert not (Path(restored.config["KEYS_DIR"]) / "token.secret").exists()
    assert store_of(restored).is_empty()


def test_backup_names_a_missing_schema(
    make_app: Any, tmp_path: Path, second_database: str, same_storage: dict[str, Any]
) -> None:
    empty = _restored_app(second_database, tmp_path, same_storage)
    result = empty.test_cli_runner().invoke(args=["backup", "--output", str(tmp_path / "x.tar")])
    assert result.exit_code == 1
    assert "no schema" in result.output
    assert not (tmp_path / "x.tar").exists()
    assert backup.FORMAT == "intake-backup-v1"


def test_restore_refuses_a_store_holding_other_objects_and_finishes_a_cut_short_one(
    make_app: Any, tmp_path: Path, second_database: str, same_storage: dict[str, Any]
) -> None:
    app = make_app()
    made = _populate(app)
    out = tmp_path / "b.tar"
    assert app.test_cli_runner().invoke(args=["backup", "--output", str(out)]).exit_code == 0
    restored = _restored_app(second_database, tmp_path, same_storage)
    store = store_of(restored)
    stranger = storage.new_name()
    store.put(stranger, [b"an object of some other instance"])
    result = restored.test_cli_runner().invoke(args=["restore", str(out)])
    assert result.exit_code == 1 and "1 objects that are not in this backup" in result.output
    store.delete(stranger)
    with tarfile.open(out) as tar:  # a restore that stopped after putting some of its objects
        member = next(m for m in tar.getmembers() if m.name.startswith("attachments/"))
        store.put(member.name.removeprefix("attachments/"), [tar.extractfile(member).read()])  # type: ignore[union-attr]
    result = restored.test_cli_runner().invoke(args=["restore", str(out)])
    assert result.exit_code == 0, result.output
    with restored.app_context():
        for token in made:
            assert cases.find_by_token(db.session(), token).case.id == made[token]["id"]


def test_finding_02_a_backup_carries_no_session(
    make_app: Any, tmp_path: Path, second_database: str, same_storage: dict[str, Any]
) -> None:
    """A signed-in officer's session row wraps their private key: a backup (and what it restores) has none."""
    app = make_app()
    _populate(app)
    OfficerActions(app.test_client()).login(ADMIN, PASSWORD)
    with app.app_context():
        wrapped = db.session().scalars(select(OfficerSession.wrapped_private_key)).one()
    out = tmp_path / "b.tar"
    assert app.test_cli_runner().invoke(args=["backup", "--output", str(out)]).exit_code == 0
    with tarfile.open(out) as tar:
        for info in tar.getmembers():
            assert wrapped not in tar.extractfile(info).read(), info.name  # type: ignore[union-attr]
    restored = _restored_app(second_database, tmp_path, same_storage)
    result = restored.test_cli_runner().invoke(args=["restore", str(out)])
    assert result.exit_code == 0, result.output
    with restored.app_context():
        assert db.session().scalars(select(OfficerSession)).all() == []
        assert db.session().scalars(select(Officer)).all()  # the officers themselves are there
