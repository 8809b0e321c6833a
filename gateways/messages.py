"""One entry point for every payment message format: detect what bytes are, validate them, parse them.

Callers (the CLI, later the node's intake) should not need to know whether a bank sent a SWIFT MT file or
an ISO 20022 XML document; `detect` decides and the format's own package does the work. XML goes to
`gateways.iso20022`, imported only when needed, so the MT path works even while that package is absent.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable

from gateways import swift
from gateways.problems import MessageError, Problem
from gateways.swift.fin import FinMessage, parse_file

MT_KINDS = {"103": "mt103", "202": "mt202", "940": "mt940", "950": "mt950"}
_WHITESPACE_AND_BOM = b"\xef\xbb\xbf \t\r\n\x00\x01"


def is_xml(data: bytes) -> bool:
    """Whether `data` is to be read as XML (ISO 20022) rather than FIN; cheap, never parses."""
    return data.lstrip(_WHITESPACE_AND_BOM).startswith(b"<")


def detect(data: bytes) -> str:
    """'mt103', 'mt202', 'mt940', 'mt950', 'xml', 'mixed' (a file of several types) or 'unknown'; never raises."""
    head = data.lstrip(_WHITESPACE_AND_BOM)
    if head.startswith(b"<"):
        return "xml"
    try:
        messages = parse_file(data)
    except MessageError:
        return _detect_by_header(head)
    kinds = {_kind(m) for m in messages}
    return kinds.pop() if len(kinds) == 1 else "mixed"


def _kind(message: FinMessage) -> str:
    return MT_KINDS.get(message.mt_type or "", "unknown")


def _detect_by_header(head: bytes) -> str:
    # A broken message still says its type in block 2; knowing it lets validate() report the real problems.
    match = re.search(rb"\{2:[IO]([0-9]{3})", head[:2000])
    return MT_KINDS.get(match.group(1).decode(), "unknown") if match else "unknown"


def _iso20022(name: str) -> Callable[[bytes], object] | None:
    try:
        module = importlib.import_module("gateways.iso20022")
    except ImportError:
        return None
    function = getattr(module, name, None)
    return function if callable(function) else None


def _unsupported(kind: str) -> Problem:
    return Problem("(file)", "format", f"{kind} messages are not supported yet")


def validate(data: bytes) -> list[Problem]:
    """Every reason the message (or file of messages) is invalid; [] if it is valid."""
    kind = detect(data)
    if kind == "xml":
        function = _iso20022("validate_bytes")
        if function is None:
            return [_unsupported("ISO 20022 XML")]
        result = function(data)
        return list(result) if isinstance(result, list) else []
    # Everything else is read as FIN: unsupported MT types and non-FIN bytes come back as Problems.
    return swift.validate(data)


def parse(data: bytes) -> dict[str, object]:
    """Canonical JSON-able view; MessageError if the bytes cannot be read as a message at all."""
    kind = detect(data)
    if kind == "xml":
        function = _iso20022("parse_bytes")
        if function is None:
            raise MessageError([_unsupported("ISO 20022 XML")])
        result = function(data)
        if not isinstance(result, dict):
            raise MessageError([Problem("(file)", "format", "ISO 20022 parser returned no dict")])
        return result
    return swift.canonical(data)
