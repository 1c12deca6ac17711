"""PDF: written anew by pikepdf (qpdf) without what names or tracks its sender, in a child process.

Removed: the document information dictionary (author, title, subject, keywords, creator, producer, dates);
every XMP metadata stream (the document's and any page's, picture's or font's); the file identifier
(/ID, made anew from the cleaned content); attached files (the EmbeddedFiles name tree, file-attachment,
sound, movie, screen, rich-media and 3D annotations, associated files /AF, embedded-file streams);
JavaScript (the JavaScript name tree, every /JS) and actions other than going to a page, opening a web
link or a named viewer action (launching programs, submitting or importing data, opening other files);
automatic actions (/OpenAction, /AA); XFA forms; application private data (/PieceInfo); the names and
dates on comments (a markup annotation's /T, /M, /CreationDate); and earlier saved versions (incremental
updates: only objects the cleaned document uses are written). JPEG pictures inside lose their EXIF, XMP
and comments (`lossless`). Streams are copied without decoding (no decompression bomb reaches qpdf), the
child runs under `sandbox` limits; a password-protected file is refused, as is one qpdf cannot read.

Run as a child: `python -E -s -m cleaning.pdf INPUT OUTPUT` from the `intake` folder (exit 0 cleaned,
3 password-protected, 4 unreadable).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, BinaryIO

from . import Refused, sandbox

PACKAGE_PARENT = Path(__file__).resolve().parent.parent
EXIT_ENCRYPTED = 3
EXIT_UNREADABLE = 4

SAFE_ACTIONS = {"/GoTo", "/URI", "/Named"}
DROPPED_ANNOTATIONS = {"/FileAttachment", "/Sound", "/Movie", "/Screen", "/RichMedia", "/3D"}
MARKUP_ANNOTATIONS = {
    "/Text", "/FreeText", "/Line", "/Square", "/Circle", "/Polygon", "/PolyLine", "/Highlight", "/Underline",
    "/Squiggly", "/StrikeOut", "/Caret", "/Ink", "/Stamp", "/Redact", "/Popup", *DROPPED_ANNOTATIONS,
}  # fmt: skip
DROPPED_EVERYWHERE = ("/Metadata", "/PieceInfo", "/AA", "/AF", "/LastModified")
DROPPED_FROM_ROOT = ("/OpenAction", "/SpiderInfo", "/Collection")
COMMENT_KEYS = ("/T", "/M", "/CreationDate")


def clean(source: BinaryIO, sink: BinaryIO, limits: sandbox.Limits) -> None:
    """Clean the PDF in `source` into `sink` through the child; Refused on any failure."""
    argv = [sys.executable, "-E", "-s", "-m", "cleaning.pdf", "{input}", "{output}"]
    try:
        sandbox.run(argv, source, sink, limits, cwd=PACKAGE_PARENT)
    except sandbox.ToolMissing as exc:
        raise Refused("unavailable", "pdf") from exc
    except sandbox.ToolTimeout as exc:
        raise Refused("timeout", "pdf") from exc
    except sandbox.ToolFailed as exc:
        raise Refused("encrypted" if exc.status == EXIT_ENCRYPTED else "document", "pdf") from exc


# --- in the child ---------------------------------------------------------------------------------


def _drop(obj: Any, keys: tuple[str, ...]) -> None:
    for key in keys:
        if key in obj:
            del obj[key]


def _is_name(value: Any, *names: str) -> bool:
    import pikepdf

    return isinstance(value, pikepdf.Name) and str(value) in names


def _clean_object(obj: Any) -> None:
    """One dictionary or stream, whatever its place in the document."""
    import pikepdf

    from .lossless import strip_jpeg

    _drop(obj, DROPPED_EVERYWHERE)
    subtype = obj.get("/Subtype")
    if "/Rect" in obj and _is_name(subtype, *MARKUP_ANNOTATIONS):
        _drop(obj, COMMENT_KEYS)
    action = obj.get("/A")
    is_action = isinstance(action, pikepdf.Dictionary) and "/S" in action  # not a structure attribute
    if is_action and not _is_name(action.get("/S"), *SAFE_ACTIONS):
        del obj["/A"]
    if isinstance(obj.get("/S"), pikepdf.Name):  # an action dictionary: no chained actions, no script
        _drop(obj, ("/Next", "/JS"))
    _drop(obj, ("/EF", "/RF", "/Params"))  # file specifications keep their name, never the embedded file
    if _is_name(obj.get("/Type"), "/EmbeddedFile") and isinstance(obj, pikepdf.Stream):
        obj.write(b"")
    if isinstance(obj, pikepdf.Stream) and _is_name(obj.get("/Filter"), "/DCTDecode"):
        raw = obj.read_raw_bytes()
        try:
            stripped = strip_jpeg(raw)
        except Refused:
            return
        if stripped != raw:
            parms = obj.get("/DecodeParms")
            obj.write(stripped, filter=pikepdf.Name.DCTDecode, decode_parms=parms)  # type: ignore[arg-type]


def clean_document(pdf: Any) -> None:
    """Remove, in place, everything the module docstring lists."""
    import pikepdf

    _drop(pdf.trailer, ("/Info", "/ID"))
    root = pdf.Root
    _drop(root, DROPPED_FROM_ROOT)
    names = root.get("/Names")
    if isinstance(names, pikepdf.Dictionary):
        _drop(names, ("/EmbeddedFiles", "/JavaScript"))
    form = root.get("/AcroForm")
    if isinstance(form, pikepdf.Dictionary):
        _drop(form, ("/XFA",))
    for page in pdf.pages:
        annots = page.obj.get("/Annots")
        if isinstance(annots, pikepdf.Array):
            kept = [a for a in annots if not (
                isinstance(a, pikepdf.Dictionary) and _is_name(a.get("/Subtype"), *DROPPED_ANNOTATIONS)
            )]  # fmt: skip
            if len(kept) != len(annots):
                page.obj["/Annots"] = pikepdf.Array(kept)
    for obj in pdf.objects:
        if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
            _clean_object(obj)


def main(argv: list[str]) -> int:
    import pikepdf

    source, target = argv[1], argv[2]
    try:
        # Saved into the open file: given a file name, pikepdf would write a temporary file beside it.
        with pikepdf.open(source) as pdf, open(target, "wb") as sink:
            clean_document(pdf)
            pdf.save(
                sink,
                preserve_pdfa=False,
                fix_metadata_version=False,
                compress_streams=False,
                stream_decode_level=pikepdf.StreamDecodeLevel.none,
                encryption=False,
                deterministic_id=True,
            )
    except pikepdf.PasswordError:
        return EXIT_ENCRYPTED
    except (pikepdf.PdfError, pikepdf.ForeignObjectError, ValueError, TypeError, KeyError, RuntimeError):
        return EXIT_UNREADABLE
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
