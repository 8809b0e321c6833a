"""Structured logs: one event per line (time, level, module, event name, then fields).

Operators ship and search logs, so away from a terminal each line is a JSON object that needs no
parser of its own; at a terminal the same event is one readable line. Levels are set per module
(`qenex.p2p = "debug"` while the rest stays at info). Secrets never reach the output: fields
named like secrets are masked, and the node registers its key material so that it is masked
wherever it appears in a line, exception text included.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import TextIO

LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("auto", "json", "text")
REDACTED = "[redacted]"
_SECRET_NAME = re.compile(r"private|secret|password|passphrase|mnemonic|seed|token|(?<!public)_key$|^key$", re.I)
_secrets: set[str] = set()


def register_secret(value: str) -> None:
    """Mask `value` (and its 0x / upper-case spellings) in every log line from now on."""
    text = value.removeprefix("0x")
    if len(text) >= 16:  # short strings would mask ordinary text
        _secrets.update({text.lower(), text.upper()})


def _mask(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def _fields(record: logging.LogRecord) -> dict:
    fields = getattr(record, "fields", {})
    return {k: REDACTED if _SECRET_NAME.search(k) else v for k, v in fields.items()}


def _time(record: logging.LogRecord) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": _time(record), "level": record.levelname.lower(), "module": record.name,
                 "event": record.getMessage()}  # fmt: skip
        entry.update(_fields(record))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return _mask(json.dumps(entry, default=str))


class TextFormatter(logging.Formatter):
    """`12:00:01.250 INFO  qenex.node  block_committed height=3 txs=1` for people at a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        clock = time.strftime("%H:%M:%S", time.localtime(record.created)) + f".{int(record.msecs):03d}"
        pairs = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        line = f"{clock} {record.levelname:<7} {record.name:<16} {record.getMessage()} {pairs}".rstrip()
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return _mask(line)


def setup_logging(
    level: str = "info", modules: dict[str, str] | None = None, fmt: str = "auto", stream: TextIO | None = None
) -> None:
    """Log to `stream` (stderr): text if it is a terminal and fmt is auto, else JSON lines."""
    stream = sys.stderr if stream is None else stream
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    for name, value in {"": level, **(modules or {})}.items():
        if value not in LEVELS:
            raise ValueError(f"log level of {name or 'the node'} must be one of {', '.join(LEVELS)}, not {value!r}")
    text = fmt == "text" or (fmt == "auto" and stream.isatty())
    handler = logging.StreamHandler(stream)
    handler.setFormatter(TextFormatter() if text else JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    for name, value in (modules or {}).items():
        logging.getLogger(name).setLevel(value.upper())


def event(logger: logging.Logger, name: str, level: int = logging.INFO, **fields: object) -> None:
    logger.log(level, name, extra={"fields": fields})
