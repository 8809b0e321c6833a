"""Hardened XML intake: every ISO 20022 byte string from outside passes through `parse_xml` first.

A payment gateway parses text written by counterparties and, through them, by anyone. libxml2's
defaults would expand entities (billion laughs), read external files or URLs named by a DTD (XXE)
and build arbitrarily deep trees. ISO 20022 messages never need a DTD, so a DOCTYPE is refused
outright instead of being processed "safely": there is no legitimate input that loses by it.
"""

from __future__ import annotations

from lxml import etree

from gateways.problems import Problem

MAX_MESSAGE_BYTES = 5 * 1024 * 1024
"""Largest message accepted; checked on the raw bytes so a huge input costs no parsing at all."""

# "<!DOCTYPE" in the encodings an XML declaration may announce without a byte-order-mark surprise.
_DOCTYPE_MARKERS: tuple[bytes, ...] = tuple(
    marker.encode(encoding)
    for marker in ("<!DOCTYPE", "<!ENTITY")
    for encoding in ("ascii", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
)


def _parser() -> etree.XMLParser:
    """A fresh parser per call: lxml parsers keep error state and are not safe to share across threads."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
        collect_ids=False,
    )


def parse_xml(data: bytes, max_bytes: int = MAX_MESSAGE_BYTES) -> tuple[etree._Element | None, list[Problem]]:
    """Parse `data` into an element tree or say why not; never expands entities or fetches anything."""
    if not isinstance(data, bytes | bytearray | memoryview):
        return None, [Problem("/", "input must be bytes", type(data).__name__)]
    data = bytes(data)
    if len(data) > max_bytes:
        return None, [Problem("/", f"message larger than {max_bytes} bytes", f"{len(data)} bytes")]
    if not data.strip():
        return None, [Problem("/", "not XML", "empty input")]
    upper = data.upper()
    for marker in _DOCTYPE_MARKERS:
        if marker.upper() in upper:
            return None, [Problem("/", "DOCTYPE and entity declarations are refused", marker.decode("latin-1"))]
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        return None, [Problem("/", "not well-formed XML", str(exc)[:300])]
    except (ValueError, LookupError) as exc:  # e.g. unknown encoding in the XML declaration
        return None, [Problem("/", "not XML", str(exc)[:300])]
    if root is None:
        return None, [Problem("/", "not XML", "no root element")]
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        return None, [Problem("/", "DOCTYPE and entity declarations are refused", docinfo.doctype or "DTD")]
    for node in root.iter():
        if isinstance(node, etree._Entity):
            return None, [Problem("/", "entity references are refused", str(node.text)[:100])]
    return root, []
