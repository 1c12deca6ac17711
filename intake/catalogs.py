"""Compile the Thai catalogues (.po -> .mo); run by `make` and by the test suite, never at start-up.

Each area keeps its own catalogue under intake/translations/<area>/<lang>/LC_MESSAGES/messages.po;
Flask-Babel merges them (BABEL_TRANSLATION_DIRECTORIES).
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from config import TRANSLATIONS


def compile_all(root: Path = TRANSLATIONS, force: bool = False) -> list[Path]:
    """Compile every .po newer than its .mo. Returns the .mo files written."""
    written = []
    for po in sorted(root.glob("*/*/LC_MESSAGES/*.po")):
        mo = po.with_suffix(".mo")
        if not force and mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as fh:
            catalog = read_po(fh)
        with mo.open("wb") as fh:
            write_mo(fh, catalog, use_fuzzy=False)
        written.append(mo)
    return written


if __name__ == "__main__":
    for path in compile_all(force="--force" in sys.argv):
        print(f"compiled {path.relative_to(TRANSLATIONS.parent.parent)}")
