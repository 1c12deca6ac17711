"""The Thai catalogues, read from their .po files into memory when the app starts: no compile step, no .mo.

Each area keeps its own catalogue under intake/translations/<area>/<lang>/LC_MESSAGES/messages.po. When an
app is created (development server, gunicorn worker, `flask` command alike), every area's catalogue of each
configured language is parsed with Babel's read_po, written as a .mo image into memory (write_mo into a
BytesIO) and handed to babel.support.Translations; the merged result is kept for the life of the process.

Why in memory rather than a build step, a compile-on-start to disk, or a refusal (issue 17): a checkout
served as it is, a wheel and an image all run the same code with nothing to forget; nothing is written, so a
read-only code directory (ProtectSystem=strict in docs/deployment.md) and several workers starting at once
need no lock; a stale .mo can never hide an edited .po. It costs about 30 ms per process start. A language
configured in LANGUAGES whose catalogue is missing or broken stops the app from starting, naming the file:
Thai is never replaced by English msgids without a word.

    python -m intake.catalogs     checks the catalogues and prints what each language has (writes nothing)
"""

from __future__ import annotations

import functools
import io
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import PoFileError, read_po
from babel.support import NullTranslations, Translations
from flask import Flask, has_app_context
from flask_babel import Babel, Domain, get_locale

from config import TRANSLATIONS

SOURCE_LANGUAGE = "en"  # msgids are English: that language needs no catalogue


class CatalogueError(RuntimeError):
    """A configured language has no usable catalogue: the app must not start (Thai would silently be lost)."""


def catalogue_files(language: str, root: Path = TRANSLATIONS) -> list[Path]:
    """Every area's .po file for `language`, in a stable order (later areas override earlier ones)."""
    return sorted(root.glob(f"*/{language}/LC_MESSAGES/messages.po"))


def _compile(po: Path, language: str) -> Translations:
    """One .po file as Translations, through an in-memory .mo image (fuzzy entries left out)."""
    try:
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=language, abort_invalid=True)
    except (OSError, PoFileError, ValueError) as err:
        raise CatalogueError(f"cannot read the catalogue {po}: {err}") from err
    image = io.BytesIO()
    write_mo(image, catalog, use_fuzzy=False)
    image.seek(0)
    return Translations(image, domain="messages")


@functools.cache
def translations(language: str, root: Path = TRANSLATIONS) -> NullTranslations:
    """The merged catalogue of `language`, parsed once per process; msgids themselves for the source."""
    if language == SOURCE_LANGUAGE:
        return NullTranslations()
    files = catalogue_files(language, root)
    if not files:
        raise CatalogueError(
            f"no {language} catalogue under {root} (expected <area>/{language}/LC_MESSAGES/messages.po): "
            "the install is incomplete; reinstall the package or restore intake/translations from the "
            "repository"
        )
    merged = _compile(files[0], language)
    for po in files[1:]:
        merged.merge(_compile(po, language))
    if not merged._catalog:  # Babel keeps the messages there; an empty catalogue is as bad as none
        raise CatalogueError(f"the {language} catalogues under {root} translate nothing")
    return merged


def require(languages: Iterable[str], root: Path = TRANSLATIONS) -> dict[str, int]:
    """Load every configured language now (raises CatalogueError); returns the number of messages of each."""
    return {lang: len(getattr(translations(lang, root), "_catalog", {})) for lang in languages}


class CatalogueDomain(Domain):
    """Flask-Babel's domain over our in-memory catalogues instead of .mo files on disk."""

    def get_translations(self) -> NullTranslations:
        if not has_app_context():
            return NullTranslations()
        return translations(str(get_locale() or SOURCE_LANGUAGE))


class CatalogueBabel(Babel):
    """Flask-Babel whose translations come from CatalogueDomain; init_app refuses a missing catalogue."""

    domain_instance = CatalogueDomain()

    def init_app(self, app: Flask, *args: Any, **kwargs: Any) -> None:
        super().init_app(app, *args, **kwargs)
        require(app.config["LANGUAGES"])


def main(argv: list[str]) -> int:
    languages = [a for a in argv if not a.startswith("-")] or ["th"]  # --force of old scripts: no-op
    try:
        counts = require(languages)
    except CatalogueError as err:
        print(f"intake.catalogs: {err}", file=sys.stderr)
        return 1
    for lang, count in counts.items():
        areas = ", ".join(p.parts[-4] for p in catalogue_files(lang)) or "msgids"
        print(f"{lang}: {count} messages ({areas}); read into memory at start-up, nothing to compile")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
