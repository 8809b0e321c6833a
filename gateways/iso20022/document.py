"""Find the ISO 20022 `Document` in a message, name its type and validate it against the official XSD.

Messages arrive either as a bare `Document` or wrapped: SWIFT's `Envelope`/`Request`/`RequestPayload`
with a business application header (`AppHdr`, head.001) beside the `Document`. Only the Document is
validated against its message XSD; the AppHdr is read for its routing fields (BizMsgIdr, MsgDefIdr,
From/To BIC) because the head.001 XSD is not among the schemas a node is required to carry.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from gateways.iso20022 import schemas
from gateways.iso20022.xmlsafe import parse_xml
from gateways.problems import Problem

_TYPE_PATTERN = re.compile(r"^[a-z]{4}\.[0-9]{3}\.[0-9]{3}\.[0-9]{2}$")
_HEAD_PREFIX = "urn:iso:std:iso:20022:tech:xsd:head.001."
# Envelopes nest the Document one or two levels deep; anything deeper is not an envelope we know.
_MAX_ENVELOPE_DEPTH = 3
_MAX_XSD_PROBLEMS = 20


@dataclass(frozen=True, slots=True)
class Located:
    """A Document element, its message type and the AppHdr beside it (if any)."""

    message_type: str
    document: etree._Element
    app_header: etree._Element | None


def _qname(node: etree._Element) -> tuple[str, str]:
    q = etree.QName(node)
    return q.namespace or "", q.localname


def _children(node: etree._Element) -> list[etree._Element]:
    return [child for child in node if isinstance(child.tag, str)]


def _find(root: etree._Element, localname: str) -> list[etree._Element]:
    """Elements called `localname` at most _MAX_ENVELOPE_DEPTH levels below root (root included)."""
    found: list[etree._Element] = []
    level = [root]
    for _ in range(_MAX_ENVELOPE_DEPTH + 1):
        following: list[etree._Element] = []
        for node in level:
            if _qname(node)[1] == localname:
                found.append(node)
            else:
                following.extend(_children(node))
        level = following
    return found


def message_type_of(document: etree._Element) -> tuple[str | None, list[Problem]]:
    """The message type named by the Document namespace, e.g. pacs.008.001.08."""
    namespace, _ = _qname(document)
    if not namespace.startswith(schemas.NAMESPACE_PREFIX):
        return None, [Problem("/Document", "namespace is not an ISO 20022 message namespace", namespace or "(none)")]
    message_type = namespace[len(schemas.NAMESPACE_PREFIX) :]
    if not _TYPE_PATTERN.fullmatch(message_type):
        return None, [Problem("/Document", "malformed ISO 20022 message identifier", message_type[:100])]
    if message_type not in schemas.SUPPORTED_TYPES:
        return None, [Problem("/Document", "unsupported message type", message_type)]
    return message_type, []


def locate(root: etree._Element) -> tuple[Located | None, list[Problem]]:
    """Find exactly one Document (bare or in an envelope) and its optional AppHdr."""
    documents = _find(root, "Document")
    if not documents:
        return None, [Problem("/", "no ISO 20022 Document element", _qname(root)[1][:100])]
    if len(documents) > 1:
        return None, [Problem("/", "more than one Document element", str(len(documents)))]
    document = documents[0]
    message_type, problems = message_type_of(document)
    if message_type is None:
        return None, problems
    headers: list[etree._Element] = []
    if document is not root:
        headers = [h for h in _find(root, "AppHdr") if _qname(h)[0].startswith(_HEAD_PREFIX)]
    if len(headers) > 1:
        return None, [Problem("/", "more than one AppHdr element", str(len(headers)))]
    header = headers[0] if headers else None
    if header is not None:
        declared = header.findtext(f"{{{_qname(header)[0]}}}MsgDefIdr")
        if declared is not None and declared.strip() != message_type:
            return None, [Problem("/AppHdr/MsgDefIdr", f"does not match Document type {message_type}", declared[:100])]
    return Located(message_type, document, header), []


def xsd_problems(document: etree._Element, message_type: str, schema_dir: Path | None) -> list[Problem]:
    """Problems the official XSD finds in `document` (validated as a standalone tree)."""
    schema, problems = schemas.schema_for(message_type, schema_dir)
    if schema is None:
        return problems
    standalone = etree.ElementTree(copy.deepcopy(document))
    errors = schema.errors(standalone)
    if errors is None:
        return []
    found = [
        Problem(path or f"line {line}", f"XSD {message_type}", message[:300])
        for path, line, message in errors[:_MAX_XSD_PROBLEMS]
    ]
    return found or [Problem("/Document", f"XSD {message_type}", "invalid")]


def load_and_validate(data: bytes, schema_dir: Path | None = None) -> tuple[Located | None, list[Problem]]:
    """Everything a message must pass before any field of it is trusted."""
    root, problems = parse_xml(data)
    if root is None:
        return None, problems
    located, problems = locate(root)
    if located is None:
        return None, problems
    problems = xsd_problems(located.document, located.message_type, schema_dir)
    if problems:
        return None, problems
    return located, []
