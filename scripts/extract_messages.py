"""Extract translatable strings of one area into its Thai catalogue, keeping translations already made.

    python scripts/extract_messages.py AREA PATH [PATH ...]

AREA is a folder under intake/translations/ (core, citizen, officer, reports ...); PATHs are the
Python files, templates or folders whose strings that area owns. Untranslated entries are listed so
they can be filled in. Nothing to compile: the app reads the .po files at start-up (intake/catalogs.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None, "_n": (1, 2)}


def files(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        path = (ROOT / p).resolve()
        out.extend(sorted(path.rglob("*")) if path.is_dir() else [path])
    return [f for f in out if f.suffix in (".py", ".html", ".txt")]  # .txt: plain-text mail templates


def main(area: str, paths: list[str]) -> int:
    po_path = ROOT / "intake" / "translations" / area / "th" / "LC_MESSAGES" / "messages.po"
    po_path.parent.mkdir(parents=True, exist_ok=True)
    old = read_po(po_path.open("rb")) if po_path.exists() else Catalog(locale="th")
    new = Catalog(locale="th", project="intake", charset="utf-8")
    for f in files(paths):
        method = "python" if f.suffix == ".py" else "jinja2"
        opts = {"extensions": "jinja2.ext.do"} if method == "jinja2" else {}
        for lineno, msg, comments, _ctx in extract_from_file(method, str(f), keywords=KEYWORDS, options=opts):
            new.add(msg, locations=[(str(f.relative_to(ROOT)), lineno)], auto_comments=comments)
    missing = []
    for message in new:
        if not message.id:
            continue
        before = old.get(message.id)
        if before is not None and before.string:
            message.string = before.string
        else:
            missing.append(message.id if isinstance(message.id, str) else message.id[0])
    with po_path.open("wb") as fh:
        write_po(fh, new, width=100, omit_header=False)
    print(f"{po_path.relative_to(ROOT)}: {len(new)} messages, {len(missing)} untranslated")
    for m in missing:
        print("  untranslated:", m)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
