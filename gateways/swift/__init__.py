"""SWIFT MT gateway: read FIN files (MT103, MT202/COV, MT940, MT950), validate them, give a canonical view."""

from __future__ import annotations

import re

from gateways.problems import MessageError, Problem
from gateways.swift import mt103, mt202, mt940
from gateways.swift.fin import FinMessage, generate, parse_file

SUPPORTED = ("103", "202", "940", "950")

__all__ = ["SUPPORTED", "FinMessage", "MessageError", "Problem", "canonical", "generate", "parse_file", "validate"]


def _prefix(problems: list[Problem], index: int, count: int) -> list[Problem]:
    """In a file of several messages, say which message a problem belongs to."""
    if count == 1:
        return problems
    return [Problem(f"message {index + 1} {p.path}", p.rule, p.found) for p in problems]


UETR = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
VALIDATION_FLAGS = ("STP", "REMIT", "RFDD", "COV")


def user_header(message: FinMessage) -> list[Problem]:
    """Block 3: UETR (121) is a lowercase UUID v4, 119 a known validation flag, 111 a 3-digit service type."""
    problems: list[Problem] = []
    uetr, flag, service = message.user_value("121"), message.user_value("119"), message.user_value("111")
    if uetr is not None and not UETR.fullmatch(uetr):
        problems.append(Problem("{3:{121:}}", "UETR (T54)", f"{uetr!r} is not a lowercase UUID version 4"))
    if flag is not None and flag not in VALIDATION_FLAGS:
        problems.append(Problem("{3:{119:}}", "validation flag", f"{flag!r} not one of {'/'.join(VALIDATION_FLAGS)}"))
    if service is not None and not re.fullmatch(r"[0-9]{3}", service):
        problems.append(Problem("{3:{111:}}", "service type", f"{service!r} is not 3!n"))
    return problems


def validate_message(message: FinMessage) -> list[Problem]:
    """Header, field formats and network rules of one message."""
    kind = message.mt_type
    if message.fields is None or kind is None:
        return [Problem("{2:}", "MT type", "service message without a user message")]
    return user_header(message) + _validate_body(message, kind)


def _validate_body(message: FinMessage, kind: str) -> list[Problem]:
    if kind == "103":
        return mt103.validate(message)
    if kind == "202":
        return mt202.validate(message)
    if kind in ("940", "950"):
        return mt940.validate(message, kind)
    return [Problem("{2:}", "MT type", f"MT{kind} is not supported (supported: {', '.join(SUPPORTED)})")]


def canonical_message(message: FinMessage) -> dict[str, object]:
    kind = message.mt_type
    if kind == "103":
        result = mt103.canonical(message)
    elif kind == "202":
        result = mt202.canonical(message)
    elif kind in ("940", "950"):
        result = mt940.canonical(message, kind)
    else:
        result = {"type": f"mt{kind}" if kind else "service", "fields": [list(f) for f in message.fields or []]}
    if message.ack is not None:
        result["ack"] = {tag: value for tag, value in message.ack.system or []}
    return result


def validate(data: bytes) -> list[Problem]:
    """Every problem of every message in a FIN file; [] when all are valid."""
    try:
        messages = parse_file(data)
    except MessageError as error:
        return error.problems
    return validate_messages(messages)


def validate_messages(messages: list[FinMessage]) -> list[Problem]:
    """Every problem of already parsed messages (a file read once, checked, then used)."""
    problems: list[Problem] = []
    for index, message in enumerate(messages):
        problems += _prefix(validate_message(message), index, len(messages))
    return problems


def canonical(data: bytes) -> dict[str, object]:
    """The canonical view of a file: one message's dict, or {"type": "batch", "messages": [...]}."""
    messages = parse_file(data)
    views = []
    for message in messages:
        view = canonical_message(message)
        view["problems"] = [p.line() for p in validate_message(message)]
        views.append(view)
    if len(views) == 1:
        return views[0]
    return {"type": "batch", "messages": views}
