"""XML parts of office files, parsed by lxml with no DTD, no entities, no network and bounded size.

lxml keeps namespace prefixes as written, which Office needs (`mc:Ignorable` names prefixes), so parts
are rewritten faithfully; a part that declares a DOCTYPE is refused outright (entity expansion bombs).
"""

from __future__ import annotations

from lxml import etree

from . import Refused


def parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
        remove_comments=True,
        remove_pis=False,
    )


def parse(data: bytes) -> etree._Element:
    """The root element of an XML part; Refused("document") if it is not plain, well-formed XML."""
    try:
        tree = etree.fromstring(data, parser())
    except etree.XMLSyntaxError as exc:
        raise Refused("document", "XML") from exc
    doc = tree.getroottree().docinfo
    if doc.doctype or doc.internalDTD is not None or doc.externalDTD is not None:
        raise Refused("document", "DTD")
    return tree


def serialise(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
