"""Reading a PDF back as a person sees it: rendered lines with their boxes (pdftotext -bbox-layout), page
images (pdftoppm), and a word-boundary check against PyThaiNLP's dictionary (not a list of our own)."""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from PIL import Image
from pythainlp.corpus.common import thai_words
from pythainlp.tokenize import word_tokenize

THAI = re.compile("[\u0e00-\u0e7f]")
ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
DPI = 150
LINE_GAP = 15.5  # points: lines of one cell are 13.4 pt apart (12 pt, line-height 1.12); cells further


@dataclass(frozen=True)
class Word:
    """One rendered run of text (a line of a cell or a paragraph), in points from the page's top left."""

    page: int
    text: str
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def centre(self) -> float:
        return (self.x0 + self.x1) / 2


def pdf_words(data: bytes) -> list[Word]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "doc.pdf"
        path.write_bytes(data)
        xml = subprocess.run(
            ["pdftotext", "-bbox-layout", str(path), "-"], capture_output=True, check=True
        ).stdout.decode("utf-8")
    root = ElementTree.fromstring(xml)  # noqa: S314 - pdftotext of a PDF we made
    words: list[Word] = []
    for number, page in enumerate(root.iter("{http://www.w3.org/1999/xhtml}page"), start=1):
        for w in page.iter("{http://www.w3.org/1999/xhtml}word"):
            box = [float(w.attrib[k]) for k in ("xMin", "yMin", "xMax", "yMax")]
            words.append(Word(number, w.text or "", *box))
    return words


def _aligned(words: list[Word], key: Callable[[Word], float], tolerance: float = 1.0) -> list[list[Word]]:
    """Words of one page whose `key` (centre, left edge) agrees within `tolerance` points."""
    groups: list[list[Word]] = []
    for w in sorted(words, key=lambda w: (w.page, key(w))):
        if groups and groups[-1][-1].page == w.page and key(w) - key(groups[-1][-1]) < tolerance:
            groups[-1].append(w)
        else:
            groups.append([w])
    return groups


def cell_runs(words: list[Word]) -> list[list[Word]]:
    """Lines that belong together: the same page, the same centre (headings are centred) or the same left
    edge (row labels), each line right under the one before."""
    runs: list[list[Word]] = []
    for key in (lambda w: w.centre, lambda w: w.x0):
        for column in _aligned(words, key):
            column.sort(key=lambda w: w.y0)
            run = [column[0]]
            for w in column[1:]:
                if 0 < w.y0 - run[-1].y0 <= LINE_GAP:
                    run.append(w)
                else:
                    runs.append(run)
                    run = [w]
            runs.append(run)
    return runs


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def runs_of(words: list[Word], text: str) -> list[list[str]]:
    """Every run of rendered lines that together read `text` (spaces aside): its lines."""
    want = squash(text)
    return [[w.text for w in run] for run in cell_runs(words) if squash("".join(w.text for w in run)) == want]


@cache
def _dictionary() -> frozenset[str]:
    return frozenset(thai_words())


def _tokens(text: str) -> list[str]:
    return [t for t in word_tokenize(text, engine="newmm", keep_whitespace=False) if t.strip()]


def all_words(text: str) -> bool:
    """`text` splits into words of the dictionary (anything not Thai counts as a word of its own)."""
    return all(t in _dictionary() or not THAI.search(t) for t in _tokens(text))


def boundaries(text: str) -> set[int]:
    """Positions between the words of `text` as PyThaiNLP segments it (newmm, its dictionary)."""
    out, at = {0}, 0
    for token in word_tokenize(text, engine="newmm", keep_whitespace=True):
        at += len(token)
        out.add(at)
    return out


def break_is_between_words(text: str, at: int) -> bool:
    """A line break before text[at] falls between words: a boundary of the dictionary's segmentation of
    the whole text, or, for a compound the dictionary lists whole (ดำเนินการ, หน่วยงาน), between parts
    that are each dictionary words (ดำเนิน|การ: Thai line breaking allows it, libthai does it)."""
    if at in boundaries(text):
        return True
    return all_words(text[:at]) and all_words(text[at:])


def bad_breaks(lines: list[str]) -> list[str]:
    """The line breaks of `lines` (one heading as rendered) that fall inside a word, shown with a bar."""
    pieces = [squash(line) for line in lines]
    text = "".join(pieces)
    out, at = [], 0
    for piece in pieces[:-1]:
        at += len(piece)
        if not break_is_between_words(text, at):
            out.append(text[:at] + "|" + text[at:])
    return out


def page_images(data: bytes, first: int = 1, last: int | None = None) -> list[Image.Image]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "doc.pdf"
        path.write_bytes(data)
        args = ["pdftoppm", "-r", str(DPI), "-gray", "-png", "-f", str(first)]
        if last is not None:
            args += ["-l", str(last)]
        subprocess.run([*args, str(path), str(Path(tmp) / "page")], check=True, capture_output=True)
        return [Image.open(p).convert("L") for p in sorted(Path(tmp).glob("page-*.png"))]


def _px(points: float) -> int:
    return round(points * DPI / 72)


def ink(image: Image.Image, word: Word) -> int:
    """Dark pixels inside the word's box on the page image."""
    box = (_px(word.x0), _px(word.y0), _px(word.x1), _px(word.y1))
    values: Any = image.convert("L").crop(box).get_flattened_data()
    return sum(1 for v in values if v < 128)


def rule_clearance(image: Image.Image, word: Word, reach_mm: float = 60) -> tuple[int, int] | None:
    """Blank pixel columns between the word's ink and the vertical rules left and right of it (its cell's
    borders); None when there is no rule on both sides (the word is not in a table). A rule is a column
    dark for at least 10 mm straight through the word's middle: no glyph stem is that tall."""
    grey = image.convert("L")
    loaded = grey.load()
    assert loaded is not None
    pixels: Any = loaded  # one channel: each pixel is an int
    middle = _px((word.y0 + word.y1) / 2)
    top, bottom = _px(word.y0 + 0.2 * (word.y1 - word.y0)), _px(word.y0 + 0.85 * (word.y1 - word.y0))
    tall = _px(10 * 72 / 25.4)

    def rule(x: int) -> bool:
        if pixels[x, middle] >= 160:
            return False
        up = next((i for i in range(1, tall) if middle - i < 0 or pixels[x, middle - i] >= 160), tall)
        down = next(
            (i for i in range(1, tall) if middle + i >= image.height or pixels[x, middle + i] >= 160), tall
        )
        return up + down - 1 >= tall

    def dark(x: int) -> bool:
        return any(pixels[x, y] < 128 for y in range(top, bottom))

    reach = _px(reach_mm * 72 / 25.4)
    start, end = _px(word.x0), _px(word.x1)
    left = next((x for x in range(start, max(start - reach, 0), -1) if rule(x)), None)
    right = next((x for x in range(end, min(end + reach, image.width - 1)) if rule(x)), None)
    if left is None or right is None:
        return None
    if any(rule(x) for x in range(start + 1, end)):
        return 0, 0  # the text runs over a rule: it spills out of its cell
    while rule(left + 1):
        left += 1
    while rule(right - 1):
        right -= 1
    inside = right - left - 1
    blank_left = next((i for i, x in enumerate(range(left + 1, right)) if dark(x)), inside)
    blank_right = next((i for i, x in enumerate(range(right - 1, left, -1)) if dark(x)), inside)
    return blank_left, blank_right
