"""Evidence files that carry planted traces of their sender, and independent readers to look for them.

Every planted trace contains "SENDER" (or is the GPS position 13.7563 N, 100.5018 E), so a cleaned file
passes when no reader finds either; text that must survive contains "KEEP". The readers are not the
cleaners' own libraries: exiftool (Debian's libimage-exiftool-perl), ffprobe, pypdf, zipfile.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import docx
import openpyxl
import pikepdf
import pypdf
from odf import config as odf_config
from odf import dc, meta, office
from odf import text as odf_text
from odf.element import Element
from odf.namespaces import METANS, TEXTNS, XMLNS
from odf.opendocument import OpenDocumentText
from openpyxl.comments import Comment

from .citizen_helpers import jpeg_with_gps

TRACE = re.compile(r"SENDER|13[.,]75|100[.,]50|13 deg 45|100 deg 30", re.IGNORECASE)
LOCATION = "+13.7563+100.5018/"


def traces(text: str) -> list[str]:
    return sorted({m.group(0) for m in TRACE.finditer(text)})


def exiftool(data: bytes, tmp_path: Path, name: str) -> dict[str, Any]:
    """Everything exiftool reads in the file, embedded and unknown tags included."""
    path = tmp_path / name
    path.write_bytes(data)
    out = subprocess.run(
        ["exiftool", "-j", "-a", "-u", "-G1", "-ee", str(path)],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    found: dict[str, Any] = json.loads(out.stdout)[0]
    return {k: v for k, v in found.items() if not k.startswith(("System:", "ExifTool:", "SourceFile"))}


def ffprobe(data: bytes, tmp_path: Path, name: str) -> dict[str, Any]:
    path = tmp_path / name
    path.write_bytes(data)
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-show_chapters", "-of", "json",
         str(path)],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return json.loads(out.stdout)


def packets_md5(data: bytes, tmp_path: Path, name: str, stream: str) -> str:
    """MD5 of the stream's packets as stored (no decoding): equal before and after = not re-encoded."""
    path = tmp_path / name
    path.write_bytes(data)
    out = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-map", stream, "-c", "copy", "-f", "md5", "-"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return out.stdout.strip()


def zip_parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def rezip(data: bytes, changes: dict[str, bytes]) -> bytes:
    """The package with some parts replaced or added."""
    parts = zip_parts(data)
    parts.update(changes)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in parts.items():
            zf.writestr(name, content)
    return out.getvalue()


# --- PDF ---------------------------------------------------------------------------------------------


def pdf_with_traces() -> bytes:
    """Author and title, XMP, an attached file, JavaScript (open action and name tree), a comment's
    author, a JPEG with GPS inside; and the visible text "KEEP-PAGE-TEXT"."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(300, 300))
    pdf.docinfo["/Author"] = "SENDER-AUTHOR"
    pdf.docinfo["/Title"] = "SENDER-TITLE"
    pdf.docinfo["/Creator"] = "SENDER-APP"
    with pdf.open_metadata(set_pikepdf_as_editor=False) as xmp:
        xmp["dc:creator"] = ["SENDER-XMP"]
    pdf.attachments["notes.txt"] = pikepdf.AttachedFileSpec(pdf, b"SENDER-EMBEDDED", filename="notes.txt")
    script = pdf.make_indirect(pikepdf.Dictionary(
        S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert('SENDER-SCRIPT')")
    ))  # fmt: skip
    pdf.Root.OpenAction = script
    pdf.Root.Names.JavaScript = pikepdf.Dictionary(Names=pikepdf.Array([pikepdf.String("s"), script]))
    photo = pikepdf.Stream(pdf, jpeg_with_gps("SENDER-CAMERA"))
    photo.update(pikepdf.Dictionary(
        Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=40, Height=30,
        ColorSpace=pikepdf.Name.DeviceRGB, BitsPerComponent=8, Filter=pikepdf.Name.DCTDecode,
    ))  # fmt: skip
    font = pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
    )
    page = pdf.pages[0]
    page.Resources = pikepdf.Dictionary(
        XObject=pikepdf.Dictionary(Im0=photo), Font=pikepdf.Dictionary(F1=font)
    )
    page.Contents = pdf.make_stream(
        b"q 80 0 0 60 10 10 cm /Im0 Do Q BT /F1 12 Tf 20 200 Td (KEEP-PAGE-TEXT) Tj ET"
    )
    comment = pikepdf.Dictionary(
        Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Text, Rect=[0, 0, 20, 20],
        T=pikepdf.String("SENDER-COMMENTER"), Contents=pikepdf.String("KEEP-COMMENT"),
        M=pikepdf.String("D:20240501100000+07'00'"),
    )  # fmt: skip
    page.Annots = pdf.make_indirect(pikepdf.Array([pdf.make_indirect(comment)]))
    buf = io.BytesIO()
    pdf.save(buf)
    return buf.getvalue()


def pdf_everything(data: bytes) -> str:
    """Every string, name and decoded stream reachable from the trailer, read by pypdf."""
    reader = pypdf.PdfReader(io.BytesIO(data))
    seen: set[int] = set()
    out: list[str] = []

    def walk(obj: Any) -> None:
        if isinstance(obj, pypdf.generic.IndirectObject):
            if obj.idnum in seen:
                return
            seen.add(obj.idnum)
            obj = obj.get_object()
        if isinstance(obj, pypdf.generic.StreamObject):
            out.append(obj.get_data().decode("latin-1"))
        if isinstance(obj, dict):
            for key, value in obj.items():
                out.append(str(key))
                walk(value)
        elif isinstance(obj, list):
            for value in obj:
                walk(value)
        else:
            out.append(str(obj))

    walk(reader.trailer)
    return "\n".join(out)


# --- Office -----------------------------------------------------------------------------------------

APP_XML = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Properties xmlns="http://schemas.openxmlformats.'
    b'org/officeDocument/2006/extended-properties"><Template>SENDER-TEMPLATE.dotm</Template><TotalTime>93'
    b"</TotalTime><Company>SENDER-COMPANY</Company><Manager>SENDER-MANAGER</Manager></Properties>"
)
CUSTOM_XML = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Properties xmlns="http://schemas.openxmlformats.'
    b'org/officeDocument/2006/custom-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'docPropsVTypes"><property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="2" name="Owner">'
    b"<vt:lpwstr>SENDER-CUSTOM</vt:lpwstr></property></Properties>"
)
W15 = "http://schemas.microsoft.com/office/word/2012/wordml"
PEOPLE_XML = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w15:people xmlns:w15="{W15}">'
    '<w15:person w15:author="SENDER-PERSON"><w15:presenceInfo w15:providerId="AD" '
    'w15:userId="S::sender-account@example.org::0b1c"/></w15:person></w15:people>'
).encode()
TEMPLATE_RELS = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.openxmlformats'
    b'.org/package/2006/relationships"><Relationship Id="rIdTpl" Type="http://schemas.openxmlformats.org/'
    b'officeDocument/2006/relationships/attachedTemplate" Target="file:///C:\\Users\\SENDER-USERNAME\\AppData'
    b'\\Roaming\\Microsoft\\Templates\\Normal.dotm" TargetMode="External"/></Relationships>'
)
TRACKED = (
    '<w:p w:rsidR="00A1B2C3" w:rsidRDefault="00A1B2C3"><w:ins w:id="901" w:author="SENDER-REVISER" '
    'w:date="2024-05-01T10:00:00Z"><w:r w:rsidR="00D4E5F6"><w:t>KEEP-INSERTED</w:t></w:r></w:ins>'
    '<w:del w:id="902" w:author="SENDER-DELETER" w:date="2024-05-01T10:05:00Z"><w:r><w:delText>'
    "KEEP-DELETED</w:delText></w:r></w:del></w:p>"
)


def docx_with_traces() -> bytes:
    """Core, app and custom properties; a comment; tracked changes; reviewers; a template path; rsids; a
    photo with GPS inside."""
    document = docx.Document()
    props = document.core_properties
    props.author, props.last_modified_by, props.title = "SENDER-AUTHOR", "SENDER-LASTMOD", "SENDER-TITLE"
    props.comments, props.keywords, props.revision = "SENDER-NOTES", "SENDER-KEYWORDS", 42
    paragraph = document.add_paragraph("KEEP-BODY-TEXT")
    document.add_comment(paragraph.runs, text="KEEP-COMMENT-TEXT", author="SENDER-COMMENTER", initials="SXC")
    document.add_picture(io.BytesIO(jpeg_with_gps("SENDER-CAMERA")))
    buf = io.BytesIO()
    document.save(buf)
    parts = zip_parts(buf.getvalue())
    body = parts["word/document.xml"].decode()
    body = body.replace("<w:sectPr", TRACKED + "<w:sectPr", 1)
    settings = parts["word/settings.xml"].decode()
    settings = re.sub(r"(<w:settings[^>]*>)", r'\1<w:attachedTemplate r:id="rIdTpl"/>', settings, count=1)
    rsids = '<w:rsids><w:rsidRoot w:val="00A1B2C3"/></w:rsids>'
    settings = settings.replace("</w:settings>", rsids + "</w:settings>")
    if 'xmlns:r="' not in settings.split(">", 2)[1]:
        settings = settings.replace(
            "<w:settings ",
            '<w:settings xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" ', 1
        )
    return rezip(buf.getvalue(), {
        "word/document.xml": body.encode(), "word/settings.xml": settings.encode(),
        "word/_rels/settings.xml.rels": TEMPLATE_RELS, "word/people.xml": PEOPLE_XML,
        "docProps/app.xml": APP_XML, "docProps/custom.xml": CUSTOM_XML,
    })  # fmt: skip


def xlsx_with_traces() -> bytes:
    """Properties; a note by an author whose name Excel also wrote into it; threaded-comment people;
    the folder it was saved in; a shared-workbook reservation; a photo with GPS inside."""
    from openpyxl.drawing.image import Image as SheetImage

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet["A1"] = "KEEP-CELL"
    sheet["A1"].comment = Comment("KEEP-NOTE-TEXT", "SENDER-NOTE-AUTHOR")
    book.properties.creator, book.properties.lastModifiedBy = "SENDER-AUTHOR", "SENDER-LASTMOD"
    book.properties.title = "SENDER-TITLE"
    sheet.add_image(SheetImage(io.BytesIO(jpeg_with_gps("SENDER-CAMERA"))), "C3")
    buf = io.BytesIO()
    book.save(buf)
    parts = zip_parts(buf.getvalue())
    note = parts["xl/comments/comment1.xml"].decode().replace(
        "<text><t>KEEP-NOTE-TEXT</t></text>",
        '<text><r><rPr><b/></rPr><t>SENDER-NOTE-AUTHOR:</t></r><r><t xml:space="preserve">\nKEEP-NOTE-TEXT'
        "</t></r></text>",
    )
    workbook = parts["xl/workbook.xml"].decode().replace(
        "<workbookPr/>",
        '<fileSharing userName="SENDER-RESERVED"/><workbookPr/><mc:AlternateContent xmlns:mc="http://schemas.'
        'openxmlformats.org/markup-compatibility/2006"><mc:Choice Requires="x15"><x15ac:absPath xmlns:x15ac="'
        'http://schemas.microsoft.com/office/spreadsheetml/2010/11/ac" url="C:\\Users\\SENDER-USERNAME\\'
        'Desktop\\"/></mc:Choice></mc:AlternateContent>',
    )
    persons = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<personList xmlns="http://schemas.microsoft.'
        b'com/office/spreadsheetml/2018/threadedcomments"><person displayName="SENDER-PERSON" id="{00000000-'
        b'0000-0000-0000-000000000001}" userId="sender-account@example.org" providerId="AD"/></personList>'
    )
    return rezip(buf.getvalue(), {
        "xl/comments/comment1.xml": note.encode(), "xl/workbook.xml": workbook.encode(),
        "xl/persons/person.xml": persons, "docProps/app.xml": APP_XML,
    })  # fmt: skip


def odt_with_traces() -> bytes:
    """Meta (creators, user field), a comment, a tracked insertion, a printer, a stored earlier version,
    a photo with GPS inside."""
    document = OpenDocumentText()
    document.meta.addElement(dc.Creator(text="SENDER-AUTHOR"))
    document.meta.addElement(meta.InitialCreator(text="SENDER-INITIAL"))
    document.meta.addElement(dc.Title(text="SENDER-TITLE"))
    document.meta.addElement(meta.UserDefined(name="Owner", text="SENDER-USERFIELD"))
    changes = odf_text.TrackedChanges()
    region = odf_text.ChangedRegion(qattributes={(XMLNS, "id"): "ct1", (TEXTNS, "id"): "ct1"})
    insertion = odf_text.Insertion()
    info = office.ChangeInfo()
    info.addElement(dc.Creator(text="SENDER-REVISER"))
    info.addElement(dc.Date(text="2024-05-01T10:00:00"))
    insertion.addElement(info)
    region.addElement(insertion)
    changes.addElement(region)
    document.text.addElement(changes)
    paragraph = odf_text.P(text="KEEP-BODY-TEXT ")
    paragraph.addElement(odf_text.ChangeStart(changeid="ct1"))
    paragraph.addText("KEEP-INSERTED")
    paragraph.addElement(odf_text.ChangeEnd(changeid="ct1"))
    note = office.Annotation()
    note.addElement(dc.Creator(text="SENDER-COMMENTER"))
    note.addElement(dc.Date(text="2024-05-01T10:00:00"))
    initials = Element(qname=(METANS, "creator-initials"), check_grammar=False)  # ODF 1.3, unknown to odfpy
    initials.addText("SENDER-INITIALS", check_grammar=False)
    note.addElement(initials, check_grammar=False)
    note.addElement(odf_text.P(text="KEEP-COMMENT-TEXT"))
    paragraph.addElement(note)
    document.text.addElement(paragraph)
    view = odf_config.ConfigItemSet(name="ooo:configuration-settings")
    view.addElement(odf_config.ConfigItem(name="PrinterName", type="string", text="SENDER-PRINTER"))
    document.settings.addElement(view)
    document.addPictureFromString(jpeg_with_gps("SENDER-CAMERA"), "image/jpeg")
    buf = io.BytesIO()
    document.write(buf)
    return rezip(buf.getvalue(), {
        "VersionList.xml": b"<?xml version='1.0'?><VL:version-list xmlns:VL='http://openoffice.org/2001/versions"
                           b"-list'><VL:version-entry VL:creator='SENDER-OLDVERSION'/></VL:version-list>",
        "Versions/Version1": b"SENDER-OLD-VERSION",
    })  # fmt: skip


# --- audio and video -----------------------------------------------------------------------------------

TAGS = [
    "-metadata", "title=SENDER-TITLE", "-metadata", "artist=SENDER-ARTIST",
    "-metadata", "comment=SENDER-COMMENT",
    "-metadata", f"location={LOCATION}", "-metadata", "creation_time=2024-05-01T10:00:00Z",
]  # fmt: skip
VIDEO = ["-f", "lavfi", "-i", "testsrc=size=176x144:rate=10:duration=1"]
AUDIO = ["-f", "lavfi", "-i", "sine=frequency=440:duration=1:sample_rate=8000"]


def _ffmpeg(tmp_path: Path, name: str, args: list[str]) -> bytes:
    path = tmp_path / name
    command = ["ffmpeg", "-v", "error", "-y", *args, str(path)]
    subprocess.run(command, check=True, timeout=60, capture_output=True)
    return path.read_bytes()


def media_with_traces(kind: str, tmp_path: Path) -> bytes:
    """A second of test picture and tone from ffmpeg's lavfi sources, with GPS and tags planted; the MP4
    also has a subtitle track, the M4A a cover picture with its own EXIF, the MOV Apple's location key."""
    if kind == "mp4":
        srt = tmp_path / "sub.srt"
        srt.write_text("1\n00:00:00,000 --> 00:00:01,000\nSENDER-SUBTITLE\n")
        args = [*VIDEO, *AUDIO, "-i", str(srt), "-map", "0", "-map", "1", "-map", "2", "-c:v", "libx264",
                "-pix_fmt", "yuv420p", "-c:a", "aac", "-c:s", "mov_text", *TAGS]  # fmt: skip
    elif kind == "m4a":
        cover = tmp_path / "cover.jpg"
        cover.write_bytes(jpeg_with_gps("SENDER-COVER"))
        args = [*AUDIO, "-i", str(cover), "-map", "0", "-map", "1", "-c:a", "aac", "-c:v", "copy",
                "-disposition:v", "attached_pic", *TAGS]  # fmt: skip
    elif kind == "3gp":
        args = [*VIDEO, *AUDIO, "-c:v", "h263", "-c:a", "aac", "-ac", "1", *TAGS]
    else:
        args = [*VIDEO, *AUDIO, "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", *TAGS,
                "-metadata", "com.apple.quicktime.location.ISO6709=+13.7563+100.5018+012.000/",
                "-metadata", "com.apple.quicktime.model=SENDER-PHONE",
                "-movflags", "use_metadata_tags"]  # fmt: skip
    return _ffmpeg(tmp_path, f"planted.{kind}", args)
