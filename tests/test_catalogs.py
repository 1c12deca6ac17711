"""The Thai catalogues are read from the .po files at start-up: a fresh checkout serves Thai, none refuses.

The end-to-end tests copy what a fresh clone holds (no .mo file, no instance, no keys) and run it as an
operator would: `flask --app wsgi setup`, then gunicorn with several workers in production mode, on the
engine the suite runs against.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import write_po

from intake import catalogs, create_app

from .conftest import PASSWORD, RECOVERY
from .i18n_helpers import english_left, thai
from .servers import ROOT, Client, ServerFailed, env_for, production_env, start_gunicorn

MISSING = "no th catalogue"


def clean_checkout(dest: Path) -> Path:
    """The files a fresh clone has (tracked ones, and new ones git does not ignore), copied to `dest`."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file() and not source.is_symlink():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return dest


def snapshot(tree: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(tree)): (p.stat().st_size, p.stat().st_mtime_ns) for p in tree.rglob("*")}


def operator_env(tmp_path: Path, database_url: str) -> dict[str, str]:
    env = env_for(
        {
            "DATABASE_URL": database_url,
            "INSTANCE_DIR": str(tmp_path / "instance"),
            "KEYS_DIR": str(tmp_path / "keys"),
        }
    )
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # so that the code directory stays exactly as cloned
    return env


def run_flask(tree: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=tree, env=env, capture_output=True, text=True, timeout=120, check=False,
    )


def _po(path: Path, messages: dict[str, str], fuzzy: frozenset[str] = frozenset()) -> None:
    catalog = Catalog(locale="th")
    for msgid, text in messages.items():
        catalog.add(msgid, text, flags=["fuzzy"] if msgid in fuzzy else [])
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        write_po(fh, catalog)


def test_the_po_files_are_read_and_a_stale_mo_is_ignored(tmp_path: Path) -> None:
    po = tmp_path / "core" / "th" / "LC_MESSAGES" / "messages.po"
    _po(po, {"Hello": "สวัสดี", "Draft": "ร่าง"}, fuzzy=frozenset({"Draft"}))
    _po(tmp_path / "extra" / "th" / "LC_MESSAGES" / "messages.po", {"Goodbye": "ลาก่อน"})
    stale = Catalog(locale="th")
    stale.add("Hello", "ข้อความเก่า")
    image = io.BytesIO()
    write_mo(image, stale)
    po.with_suffix(".mo").write_bytes(image.getvalue())
    merged = catalogs.translations("th", tmp_path)
    assert merged.gettext("Hello") == "สวัสดี"
    assert merged.gettext("Goodbye") == "ลาก่อน"  # every area merged
    assert merged.gettext("Draft") == "Draft"  # fuzzy entries are not used
    assert catalogs.translations("en", tmp_path).gettext("Hello") == "Hello"


def test_missing_or_broken_catalogues_refuse_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(catalogs.CatalogueError, match=MISSING):
        catalogs.translations("th", tmp_path)
    broken = tmp_path / "core" / "th" / "LC_MESSAGES" / "messages.po"
    broken.parent.mkdir(parents=True)
    broken.write_text('msgid "Hello"\nnot a po line\nmsgstr "สวัสดี"\n', encoding="utf-8")
    with pytest.raises(catalogs.CatalogueError, match=str(broken)):
        catalogs.translations("th", tmp_path)


def test_the_app_refuses_a_language_without_a_catalogue(tmp_path: Path) -> None:
    """create_app is what the development server, gunicorn and every `flask` command run."""
    config = {"TESTING": True, "SECRET_KEY": "k", "INSTANCE_DIR": str(tmp_path), "KEYS_DIR": str(tmp_path)}
    with pytest.raises(catalogs.CatalogueError, match="no lo catalogue"):
        create_app({**config, "LANGUAGES": ("th", "en", "lo")})
    assert catalogs.require(("th", "en"))["th"] > 400


def test_the_old_compile_command_checks_and_writes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    """`python -m intake.catalogs [--force]` of an old upgrade script still succeeds, and writes nothing."""
    before = snapshot(catalogs.TRANSLATIONS)
    assert catalogs.main(["--force"]) == 0
    assert "th:" in capsys.readouterr().out
    assert snapshot(catalogs.TRANSLATIONS) == before


@pytest.mark.slow
def test_a_fresh_checkout_served_by_gunicorn_shows_thai(tmp_path: Path, empty_database: str) -> None:
    tree = clean_checkout(tmp_path / "checkout")
    assert (tree / "intake" / "translations").is_dir() and not list(tree.rglob("*.mo"))
    before = snapshot(tree)
    env = operator_env(tmp_path, empty_database)
    where = subprocess.run(
        [sys.executable, "-c", "import intake; print(intake.__file__)"],
        cwd=tree, env=env, capture_output=True, text=True, check=True,
    )
    assert where.stdout.strip().startswith(str(tree))  # the copy is what runs, not this checkout
    made = run_flask(
        tree, {**env, "INTAKE_KDF_PROFILE": "fast", "INTAKE_ADMIN_PASSWORD": PASSWORD,
               "INTAKE_RECOVERY_PASSPHRASE": RECOVERY}, "setup", "--admin", "admin",
        "--recovery-key-out", str(tmp_path / "recovery.key"),
    )
    assert made.returncode == 0, made.stderr
    with production_env(env, tmp_path) as production:
        server = start_gunicorn(production, tmp_path / "gunicorn.log", workers=3, root=tree)
        try:
            client = Client(server.url)
            pages = {path: client.get(path) for path in ("/", "/report/corruption", "/officer/login")}
        finally:
            server.stop()
    for path, reply in pages.items():
        assert reply.status == 200 and 'lang="th"' in reply.body, path
        assert english_left(reply.body) == [], path
    assert thai("Report corruption") in pages["/"].body
    assert thai("Report corruption") != "Report corruption"
    assert snapshot(tree) == before  # nothing compiled or written into the code directory


@pytest.mark.slow
def test_a_checkout_without_the_thai_catalogue_refuses_to_start(tmp_path: Path) -> None:
    tree = clean_checkout(tmp_path / "checkout")
    for folder in (tree / "intake" / "translations").glob("*/th"):
        shutil.rmtree(folder)
    env = operator_env(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    command = run_flask(tree, env, "db", "upgrade")
    assert command.returncode != 0 and MISSING in command.stderr
    with pytest.raises(ServerFailed, match=MISSING):
        start_gunicorn(env, tmp_path / "gunicorn.log", workers=2, root=tree, timeout=60)
    assert not os.path.exists(tmp_path / "db.sqlite3")  # refused before touching anything
