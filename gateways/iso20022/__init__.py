"""ISO 20022 gateway: hardened parsing, XSD validation, canonical dicts and generated replies.

The dispatcher calls `validate_bytes` to learn every reason a message is refused and
`parse_bytes` to turn an accepted one into the canonical dict. Both are total functions of their
input: any byte string yields Problems or a dict (or MessageError), never another exception,
because a gateway that crashes on a crafted message is a denial-of-service lever.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gateways.iso20022.document import load_and_validate
from gateways.iso20022.generators import camt053_statement, pacs002_status_report
from gateways.iso20022.parsers import app_header, parse_document
from gateways.iso20022.schemas import ENV_XSD_DIR, SUPPORTED_TYPES
from gateways.iso20022.xmlsafe import MAX_MESSAGE_BYTES
from gateways.problems import MessageError, Problem

__all__ = [
    "ENV_XSD_DIR",
    "MAX_MESSAGE_BYTES",
    "SUPPORTED_TYPES",
    "camt053_statement",
    "pacs002_status_report",
    "parse_bytes",
    "validate_bytes",
]


def validate_bytes(data: bytes, schema_dir: Path | None = None) -> list[Problem]:
    """Every reason `data` is not an acceptable ISO 20022 message; empty when it is."""
    _, problems = load_and_validate(data, schema_dir)
    return problems


def parse_bytes(data: bytes, schema_dir: Path | None = None) -> dict[str, Any]:
    """The canonical dict of a valid message: {"type", "header", "message"}; MessageError if invalid."""
    located, problems = load_and_validate(data, schema_dir)
    if located is None:
        raise MessageError(problems)
    return {
        "type": located.message_type,
        "header": app_header(located.app_header),
        "message": parse_document(located.message_type, located.document),
    }
