"""`pip install .` gives a working package: the wheel, installed in a fresh venv, serves Thai from anywhere.

The wheel is built from this checkout without build isolation (hatchling is pinned in requirements-dev) and
installed with --no-deps into a new virtual environment that borrows the dependencies of the one running
the tests; then, from an empty directory, `flask --app wsgi setup` applies the packaged migrations and
gunicorn serves the app with the packaged settings (python:intake.gunicorn_conf), in production mode.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from .conftest import PASSWORD, RECOVERY
from .i18n_helpers import english_left, thai
from .servers import ROOT, Client, env_for, production_env, start_gunicorn

pytestmark = pytest.mark.slow

WHEEL_HOLDS = (
    "config.py", "wsgi.py", "intake/__init__.py", "intake/citizen/views.py", "intake/templates/base.html",
    "intake/templates/citizen/home.html", "intake/migrations/env.py", "intake/alembic.ini",
    "intake/gunicorn_conf.py", "intake/static/style.css",
    "intake/translations/core/th/LC_MESSAGES/messages.po",
)


def build_wheel(out: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-build-isolation", "--no-deps", "-w", str(out),
         str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )
    (wheel,) = out.glob("intake-*.whl")
    return wheel


def fresh_venv(where: Path, wheel: Path) -> Path:
    """A new venv holding only the wheel; the dependencies come from this one through a .pth file."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True, timeout=120)
    python = where / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(site, "borrowed-dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
         "--no-index", str(wheel)],
        check=True, capture_output=True, timeout=300,
    )
    return python


def test_the_wheel_installs_and_serves_thai_outside_the_checkout(tmp_path: Path, empty_database: str) -> None:
    wheel = build_wheel(tmp_path / "dist")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert set(WHEEL_HOLDS) <= names, set(WHEEL_HOLDS) - names
    assert not [n for n in names if n.endswith((".mo", ".pyc")) or n.startswith(("tests/", "templates/"))]
    python = fresh_venv(tmp_path / "venv", wheel)
    site = tmp_path / "site"  # an operator's directory: nothing of the checkout in it
    site.mkdir()
    env = env_for({"DATABASE_URL": empty_database})  # instance and keys: ./instance, ./keys of `site`
    where = subprocess.run(
        [str(python), "-c", "import config, intake, wsgi; print(config.ASSETS, config.HOME, wsgi.__file__)"],
        cwd=site, env=env, capture_output=True, text=True, check=True,
    ).stdout.split()
    assert where[0].startswith(str(tmp_path / "venv")) and where[0].endswith("site-packages/intake")
    assert where[1] == str(site) and where[2].startswith(str(tmp_path / "venv"))
    made = subprocess.run(
        [str(python), "-m", "flask", "--app", "wsgi", "setup", "--admin", "admin",
         "--recovery-key-out", str(site / "keys" / "recovery.key"), "--allow-keys-dir"],
        cwd=site, capture_output=True, text=True, timeout=120, check=False,
        env={**env, "INTAKE_KDF_PROFILE": "fast", "INTAKE_ADMIN_PASSWORD": PASSWORD,
             "INTAKE_RECOVERY_PASSPHRASE": RECOVERY},
    )
    assert made.returncode == 0, made.stderr
    assert (site / "keys" / "token.secret").is_file()
    with production_env(env, tmp_path) as production:
        server = start_gunicorn(
            production, tmp_path / "gunicorn.log", workers=2, root=site, python=str(python),
            config="python:intake.gunicorn_conf",
        )
        try:
            client = Client(server.url)
            home, login, css = client.get("/"), client.get("/officer/login"), client.get("/static/style.css")
        finally:
            server.stop()
    assert home.status == login.status == css.status == 200
    assert thai("Report corruption") in home.body and 'lang="th"' in login.body
    assert english_left(home.body) == [] and english_left(login.body) == []
    assert "WARNING" in server.log() and "recovery.key" in server.log()  # the packaged production checks ran
