"""DOCX, XLSX and ODT: the package written anew, entry by entry, without names, dates and other traces.

What goes, for every kind: all document properties (DOCX/XLSX `docProps/core.xml`, `app.xml`,
`custom.xml`: author, last modified by, company, manager, title, subject, keywords, revision number,
editing time, template, dates; ODT `meta.xml`: initial creator, creator, dates, editing cycles and time,
generator, template, user-defined fields); local file paths in external links (`file:`, `C:\\`, `\\\\server`);
the zip's own dates and extra fields (every entry is dated 1 Jan 1980); JPEG and PNG pictures inside lose
their metadata (`lossless`).
- DOCX: the name on every comment and tracked change becomes "Author" (`w:author`), initials and dates go
  (`w:initials`, `w:date`, `dateUtc`); the reviewers list (`word/people.xml`: names and account ids);
  editing-session ids (`w:rsid…`); the attached template's path, mail-merge sources, document variables
  and the editing-restriction password hash (`word/settings.xml`); cover-page and SharePoint properties
  (`customXml`).
- XLSX: comment authors become "Author" (also where Excel repeats the name at the start of a note);
  threaded-comment people (`xl/persons`: names and account ids) and dates; names and dates on shared-
  workbook revisions; the folder the workbook was saved in (`x15ac:absPath`); who last refreshed a pivot
  table, and when; the name of who reserved the file.
- ODT: the name on tracked changes and comments becomes "Author", their dates become 1 Jan 1980, comment
  initials go; LibreOffice's editing-session ids (`officeooo:rsid`); printer name and set-up and
  mail-merge database (`settings.xml`); stored earlier versions (`Versions/`, `VersionList.xml`).
Kept: the text, the comments' and changes' own text, pictures, formulas, styles.

Limits against zip bombs and for memory: entry count, bytes unpacked in all (counted while reading, never
trusted from the headers), size of each XML part parsed and picture stripped (in memory); other parts are
copied through in 64 KiB pieces. Encrypted packages, duplicated entry names and XML with a DTD are refused.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from typing import BinaryIO

from lxml import etree

from . import Refused, lossless, safexml

NEUTRAL_AUTHOR = "Author"
NEUTRAL_DATE = "1980-01-01T00:00:00"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
MAX_ENTRIES = 10_000
MAX_UNPACKED = 256 * 1024 * 1024  # bytes unpacked from one package in all
MAX_XML_PART = 32 * 1024 * 1024  # one XML part parsed in memory (lxml needs a few times that)
MAX_PICTURE = 64 * 1024 * 1024  # one picture read into memory to strip
CHUNK = 64 * 1024

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W15 = "http://schemas.microsoft.com/office/word/2012/wordml"
REL = "http://schemas.openxmlformats.org/package/2006/relationships"
SML = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
X15AC = "http://schemas.microsoft.com/office/spreadsheetml/2010/11/ac"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
PERSON = "http://schemas.microsoft.com/office/spreadsheetml/2018/threadedcomments"
OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
DC = "http://purl.org/dc/elements/1.1/"
META = "urn:oasis:names:tc:opendocument:xmlns:meta:1.0"
CONFIG = "urn:oasis:names:tc:opendocument:xmlns:config:1.0"
MANIFEST = "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"
OOO = "http://openoffice.org/2009/office"
COVER_PAGE = "http://schemas.microsoft.com/office/2006/coverPageProps"
SHAREPOINT = "http://schemas.microsoft.com/office/2006/metadata/properties"

EMPTY_CORE = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"'
    b' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/"'
    b' xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>'
)
EMPTY_APP = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"'
    b' xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"/>'
)
EMPTY_CUSTOM = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"'
    b' xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"/>'
)
LOCAL_PATH = re.compile(r"^(file:|[A-Za-z]:[\\/]|\\\\|//)", re.IGNORECASE)
DROPPED_RELATIONSHIPS = ("/attachedTemplate", "/mailMergeSource", "/recipientData", "/mailMergeHeaderSource")
WORD_SETTINGS_DROPPED = (
    "rsids", "attachedTemplate", "docVars", "mailMerge", "documentProtection", "writeProtection",
)  # fmt: skip
ODF_SETTINGS_DROPPED = {
    "PrinterName", "PrinterSetup", "PrinterPaperFromSetup", "CurrentDatabaseDataSource",
    "CurrentDatabaseCommand", "CurrentDatabaseCommandType", "Rsid", "RsidRoot",
}  # fmt: skip

Cleaner = Callable[[bytes], bytes]
DROP = "drop"
PICTURE = "picture"


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def _xml(fn: Callable[[etree._Element], None]) -> Cleaner:
    def clean(data: bytes) -> bytes:
        root = safexml.parse(data)
        fn(root)
        return safexml.serialise(root)

    return clean


def _elements(root: etree._Element) -> list[etree._Element]:
    return [el for el in root.iter() if isinstance(el.tag, str)]


def _remove(el: etree._Element) -> None:
    parent = el.getparent()
    if parent is not None:
        parent.remove(el)


# --- OOXML ------------------------------------------------------------------------------------------


def _relationships(root: etree._Element) -> None:
    for rel in list(root):
        if not isinstance(rel.tag, str):
            continue
        kind = rel.get("Type", "")
        if kind.endswith(DROPPED_RELATIONSHIPS):
            _remove(rel)
        elif rel.get("TargetMode") == "External" and LOCAL_PATH.match(rel.get("Target", "")):
            rel.set("Target", "about:blank")


def _wordprocessing(root: etree._Element) -> None:
    for el in _elements(root):
        for attr in list(el.attrib):
            local = _local(attr)
            ours = attr.startswith(f"{{{W}}}") and (local.startswith("rsid") or local in ("date", "initials"))
            if ours or local == "dateUtc":
                del el.attrib[attr]
        if _q(W, "author") in el.attrib:
            el.set(_q(W, "author"), NEUTRAL_AUTHOR)


def _word_settings(root: etree._Element) -> None:
    for name in WORD_SETTINGS_DROPPED:
        for el in root.findall(_q(W, name)):
            _remove(el)
    _wordprocessing(root)


def _people(root: etree._Element) -> None:
    for el in list(root):
        _remove(el)


def _custom_xml(root: etree._Element) -> None:
    if isinstance(root.tag, str) and root.tag.split("}")[0].lstrip("{") in (COVER_PAGE, SHAREPOINT):
        for el in list(root):
            _remove(el)


def _sheet_comments(root: etree._Element) -> None:
    names: list[str] = []
    for author in root.iter(_q(SML, "author")):
        names.append(author.text or "")
        author.text = NEUTRAL_AUTHOR
    # Excel starts a note with its author's name in bold ("Somchai:"): that run becomes "Author:".
    for comment in root.iter(_q(SML, "comment")):
        try:
            name = names[int(comment.get("authorId", "-1"))]
        except (ValueError, IndexError):
            continue
        first = comment.find(f"{_q(SML, 'text')}/{_q(SML, 'r')}/{_q(SML, 't')}")
        if name and first is not None and first.text and first.text.startswith(name + ":"):
            first.text = NEUTRAL_AUTHOR + first.text[len(name) :]


def _persons(root: etree._Element) -> None:
    for person in root.iter(_q(PERSON, "person")):
        person.set("displayName", NEUTRAL_AUTHOR)
        for attr in ("userId", "providerId"):
            person.attrib.pop(attr, None)


def _threaded_comments(root: etree._Element) -> None:
    for el in _elements(root):
        el.attrib.pop("dT", None)


def _workbook(root: etree._Element) -> None:
    for path in list(root.iter(_q(X15AC, "absPath"))):
        holder = path.getparent()
        _remove(path)
        wrappers = (_q(MC, "Choice"), _q(MC, "AlternateContent"))
        while holder is not None and len(holder) == 0 and holder.tag in wrappers:
            above = holder.getparent()
            _remove(holder)
            holder = above
    for sharing in root.iter(_q(SML, "fileSharing")):
        sharing.attrib.pop("userName", None)


def _revisions(root: etree._Element) -> None:
    for el in _elements(root):
        if "userName" in el.attrib:
            el.set("userName", NEUTRAL_AUTHOR)
        if "dateTime" in el.attrib:
            el.set("dateTime", NEUTRAL_DATE)


def _pivot_cache(root: etree._Element) -> None:
    for attr in ("refreshedBy", "refreshedDate", "refreshedDateIso"):
        root.attrib.pop(attr, None)


def _ooxml_rule(kind: str, name: str) -> Cleaner | str | None:
    lower = name.lower()
    if lower == "docprops/core.xml":
        return lambda _data: EMPTY_CORE
    if lower == "docprops/app.xml":
        return lambda _data: EMPTY_APP
    if lower == "docprops/custom.xml":
        return lambda _data: EMPTY_CUSTOM
    if lower.endswith(".rels"):
        return _xml(_relationships)
    if lower.startswith("customxml/item") and lower.endswith(".xml") and "props" not in lower:
        return _xml(_custom_xml)
    if lower.startswith(("docprops/thumbnail", "word/media/", "xl/media/")):
        return PICTURE
    if kind == "docx" and lower.startswith("word/") and lower.endswith(".xml"):
        if lower == "word/settings.xml":
            return _xml(_word_settings)
        if lower == "word/people.xml":
            return _xml(_people)
        return _xml(_wordprocessing)
    if kind == "xlsx" and lower.startswith("xl/") and lower.endswith(".xml"):
        if re.fullmatch(r"xl/(comments/)?comments?\d*\.xml", lower):  # Excel's and openpyxl's names
            return _xml(_sheet_comments)
        if lower.startswith("xl/persons/"):
            return _xml(_persons)
        if lower.startswith("xl/threadedcomments/"):
            return _xml(_threaded_comments)
        if lower == "xl/workbook.xml":
            return _xml(_workbook)
        if lower.startswith("xl/revisions/"):
            return _xml(_revisions)
        if lower.startswith("xl/pivotcache/pivotcachedefinition"):
            return _xml(_pivot_cache)
    return None


# --- ODF ----------------------------------------------------------------------------------------------


def _odf_meta(data: bytes) -> bytes:
    version = safexml.parse(data).get(_q(OFFICE, "version"), "1.2")
    root = etree.Element(_q(OFFICE, "document-meta"), nsmap={"office": OFFICE})
    root.set(_q(OFFICE, "version"), version)
    etree.SubElement(root, _q(OFFICE, "meta"))
    return safexml.serialise(root)


def _odf_content(root: etree._Element) -> None:
    for info in root.iter(_q(OFFICE, "change-info"), _q(OFFICE, "annotation")):
        for creator in info.findall(_q(DC, "creator")):
            creator.text = NEUTRAL_AUTHOR
        for date in info.findall(_q(DC, "date")):
            date.text = NEUTRAL_DATE
        for initials in info.findall(_q(META, "creator-initials")):
            _remove(initials)
    for el in _elements(root):
        for attr in list(el.attrib):
            if attr.startswith(f"{{{OOO}}}") and "rsid" in _local(attr):
                del el.attrib[attr]


def _odf_settings(root: etree._Element) -> None:
    for item in list(root.iter(_q(CONFIG, "config-item"))):
        if item.get(_q(CONFIG, "name")) in ODF_SETTINGS_DROPPED:
            _remove(item)


def _odf_dropped(name: str) -> bool:
    return name == "VersionList.xml" or name.startswith("Versions/")


def _manifest(root: etree._Element) -> None:
    for entry in list(root.iter(_q(MANIFEST, "file-entry"))):
        if _odf_dropped(entry.get(_q(MANIFEST, "full-path"), "")):
            _remove(entry)


def _odf_rule(name: str) -> Cleaner | str | None:
    if _odf_dropped(name):
        return DROP
    if name == "meta.xml":
        return _odf_meta
    if name in ("content.xml", "styles.xml"):
        return _xml(_odf_content)
    if name == "settings.xml":
        return _xml(_odf_settings)
    if name == "META-INF/manifest.xml":
        return _xml(_manifest)
    if name.startswith(("Pictures/", "Thumbnails/")):
        return PICTURE
    return None


# --- the package ------------------------------------------------------------------------------------


class _Unpacked:
    """Bytes unpacked so far, against MAX_UNPACKED."""

    def __init__(self) -> None:
        self.total = 0

    def add(self, n: int) -> None:
        self.total += n
        if self.total > MAX_UNPACKED:
            raise Refused("document", "unpacks to too much")


def _read(zin: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, unpacked: _Unpacked) -> bytes:
    parts = []
    size = 0
    with zin.open(info) as src:
        while chunk := src.read(CHUNK):
            size += len(chunk)
            unpacked.add(len(chunk))
            if size > limit:
                raise Refused("document", f"part too large: {size}")
            parts.append(chunk)
    return b"".join(parts)


def _encrypted_odf(zin: zipfile.ZipFile) -> bool:
    try:
        manifest = zin.read("META-INF/manifest.xml")
    except KeyError:
        return False
    return b"encryption-data" in manifest


def clean(source: BinaryIO, sink: BinaryIO, kind: str) -> None:
    """Write the cleaned package of `kind` (docx, xlsx, odt) from `source` into `sink`; Refused on failure."""
    try:
        with zipfile.ZipFile(source) as zin:
            _clean_package(zin, sink, kind)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError, OSError) as exc:
        raise Refused("document", "zip") from exc
    except RuntimeError as exc:  # zipfile: "File ... is encrypted, password required"
        raise Refused("encrypted", "zip") from exc


def _clean_package(zin: zipfile.ZipFile, sink: BinaryIO, kind: str) -> None:
    infos = [i for i in zin.infolist() if not i.is_dir()]
    names = [i.filename for i in infos]
    if len(infos) > MAX_ENTRIES or len(set(names)) != len(names):
        raise Refused("document", "entries")
    if any(i.flag_bits & 0x1 for i in infos) or (kind == "odt" and _encrypted_odf(zin)):
        raise Refused("encrypted", kind)
    if kind == "odt":  # the mimetype entry comes first, stored (ODF 1.2 part 3, 3.3)
        infos.sort(key=lambda i: i.filename != "mimetype")
    unpacked = _Unpacked()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in infos:
            rule = _odf_rule(info.filename) if kind == "odt" else _ooxml_rule(kind, info.filename)
            if rule == DROP:
                continue
            out = zipfile.ZipInfo(info.filename, date_time=ZIP_TIME)
            out.compress_type = zipfile.ZIP_STORED if info.filename == "mimetype" else zipfile.ZIP_DEFLATED
            out.external_attr = 0o644 << 16
            if rule is None:
                with zin.open(info) as src, zout.open(out, "w", force_zip64=info.file_size > 2**30) as dst:
                    while chunk := src.read(CHUNK):
                        unpacked.add(len(chunk))
                        dst.write(chunk)
                continue
            if isinstance(rule, str):  # PICTURE
                data = _read(zin, info, MAX_PICTURE, unpacked)
                try:
                    cleaned = lossless.strip_embedded(data)
                except Refused as exc:
                    raise Refused("document", f"picture {info.filename}") from exc
            else:
                cleaned = rule(_read(zin, info, MAX_XML_PART, unpacked))
            zout.writestr(out, cleaned)
