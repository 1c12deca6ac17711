"""Item codes and titles per fiscal year: intake/ita/items.toml, with the administrator's years over it.

A fiscal year's items come from, in order: what an administrator entered for that year (a setting
`ita.items.<year>` in the database, JSON; never a file the app writes, so every app server sees it), the
repository's items.toml, or else the latest year before it that has either (said so on the page, so an
assessor knows the codes may be last year's). Which items exist, and what evidences each, is code
(ITEM_KEYS, evidence.py); only their codes and titles are data.
"""

from __future__ import annotations

import functools
import json
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from .. import audit, settings
from ..models import Officer

ITEMS_FILE = Path(__file__).resolve().parent / "items.toml"
PREFIX = "ita.items."
# The items intake serves, in the order the page lists them; the tool is the assessment's instrument.
ITEM_KEYS = (
    "e8",
    "e9",
    "e10",
    "oit_guideline",
    "oit_corruption_channel",
    "oit_corruption_stats",
    "oit_qa",
    "oit_eservice",
)
TOOLS = {key: "EIT" if key.startswith("e") and key[1:].isdigit() else "OIT" for key in ITEM_KEYS}
CODE_MAX, TITLE_MAX = 16, 300


class ItemsInvalid(ValueError):
    """A year's items are incomplete or malformed (names the year and the item)."""


@dataclass(frozen=True)
class Item:
    key: str
    code: str
    title: str  # Thai, as the NACC's manual words it
    title_en: str = ""
    check: bool = False  # not confirmed against the year's manual

    @property
    def tool(self) -> str:
        return TOOLS[self.key]


@dataclass(frozen=True)
class YearItems:
    fiscal_year: int
    items: tuple[Item, ...]
    source: str  # "database" (an administrator's entry), "file" (items.toml) or "carried"
    carried_from: int | None = None  # for "carried": the year whose codes are shown


def _items(year: int, raw: object) -> dict[str, Item]:
    if not isinstance(raw, dict):
        raise ItemsInvalid(f"fiscal year {year}: expected a table of items")
    out: dict[str, Item] = {}
    for key in ITEM_KEYS:
        entry = raw.get(key)
        if not isinstance(entry, dict):
            raise ItemsInvalid(f"fiscal year {year}: item {key} is missing")
        code, title = str(entry.get("code", "")).strip(), str(entry.get("title", "")).strip()
        if not code or not title or len(code) > CODE_MAX or len(title) > TITLE_MAX:
            raise ItemsInvalid(f"fiscal year {year}: item {key} needs a code and a title")
        out[key] = Item(key, code, title, str(entry.get("title_en", "")).strip(), bool(entry.get("check")))
    unknown = set(raw) - set(ITEM_KEYS)
    if unknown:
        raise ItemsInvalid(f"fiscal year {year}: unknown items {sorted(unknown)}")
    return out


@functools.cache
def file_years(path: Path = ITEMS_FILE) -> dict[int, dict[str, Item]]:
    """items.toml, checked: every year lists every item (read once per process)."""
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    return {int(year): _items(int(year), raw) for year, raw in data.items()}


def stored_years(session: Session) -> dict[int, dict[str, Item]]:
    """The years an administrator entered (a broken entry is skipped: the file or last year applies)."""
    out: dict[int, dict[str, Item]] = {}
    for name, value in settings.with_prefix(session, PREFIX).items():
        try:
            year = int(name.removeprefix(PREFIX))
            out[year] = _items(year, json.loads(value))
        except (ValueError, json.JSONDecodeError):
            continue
    return out


def years(session: Session) -> list[int]:
    """Every year with items of its own, newest first."""
    return sorted({*file_years(), *stored_years(session)}, reverse=True)


def for_year(session: Session, fiscal_year: int) -> YearItems:
    stored, shipped = stored_years(session), file_years()
    for source, table in (("database", stored), ("file", shipped)):
        if fiscal_year in table:
            return YearItems(fiscal_year, tuple(table[fiscal_year][k] for k in ITEM_KEYS), source)
    earlier = [y for y in {*stored, *shipped} if y < fiscal_year]
    if not earlier:
        earlier = [min({*stored, *shipped})]  # before every listed year: the first one's codes
    base = max(earlier)
    items = stored.get(base) or shipped[base]
    return YearItems(fiscal_year, tuple(items[k] for k in ITEM_KEYS), "carried", base)


def save_year(session: Session, admin: Officer, fiscal_year: int, items: dict[str, Item]) -> bool:
    """Store an administrator's codes and titles for `fiscal_year` (audited); False if nothing changed."""
    checked = _items(fiscal_year, {k: asdict(v) for k, v in items.items()})
    value = json.dumps(
        {k: {"code": i.code, "title": i.title, "title_en": i.title_en} for k, i in checked.items()},
        ensure_ascii=False,
        sort_keys=True,
    )
    name = f"{PREFIX}{fiscal_year}"
    if settings.with_prefix(session, name).get(name) == value:
        return False
    settings.put(session, name, value)
    codes = ", ".join(f"{k}={i.code}" for k, i in checked.items())
    audit.record(session, admin.username, "ita.items", str(fiscal_year), codes)
    return True


def reset_year(session: Session, admin: Officer, fiscal_year: int) -> bool:
    """Forget an administrator's entry for `fiscal_year` (the file or the year before applies again)."""
    if not settings.delete(session, f"{PREFIX}{fiscal_year}"):
        return False
    audit.record(session, admin.username, "ita.items.reset", str(fiscal_year))
    return True
