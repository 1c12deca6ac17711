"""Fill Thai translations into an area's catalogue from a JSON object {msgid: msgstr}.

    python scripts/fill_translations.py AREA translations.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent


def main(area: str, source: str) -> int:
    po_path = ROOT / "intake" / "translations" / area / "th" / "LC_MESSAGES" / "messages.po"
    catalog = read_po(po_path.open("rb"))
    given = json.loads(Path(source).read_text(encoding="utf-8"))
    unknown = [k for k in given if k not in catalog]
    for msgid, text in given.items():
        if msgid in catalog:
            catalog[msgid].string = text
            catalog[msgid].flags.discard("fuzzy")
    with po_path.open("wb") as fh:
        write_po(fh, catalog, width=100)
    left = [m.id for m in catalog if m.id and not m.string]
    filled = len(given) - len(unknown)
    print(f"{filled} filled, {len(unknown)} not in catalogue, {len(left)} still untranslated")
    for m in left:
        print("  untranslated:", m)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
