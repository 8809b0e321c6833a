"""SWIFT FIN block structure: tokenizer, parser and generator for MT messages as banks exchange them.

Files from the real world are untidy: CRLF or LF line ends, RJE batches with `$` between messages, ACK/NAK
service messages in front of the message they acknowledge, MT940 exports without any envelope. The parser
accepts all of these and keeps what it reads in `FinMessage`, from which `generate` writes canonical FIN
(CRLF, one block after the other) that parses back to an equal `FinMessage`.

Every refusal is a `MessageError` listing `Problem`s; no other exception escapes `parse_file`, because the
input comes from outside the bank and must never crash the gateway.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from gateways.problems import MessageError, Problem

# Bounds keep a hostile or broken file from costing unbounded memory or time.
MAX_MESSAGE_BYTES = 100_000
MAX_MESSAGES = 1_000
MAX_FILE_BYTES = MAX_MESSAGE_BYTES * MAX_MESSAGES

FIELD_LINE = re.compile(r"^:([0-9]{2}[A-Z]?):(.*)$", re.DOTALL)
SERVICE_ACK = "21"  # service identifier of ACK/NAK messages in block 1 (F21...)

Tags = list[tuple[str, str]]


@dataclass
class FinMessage:
    """One FIN message. Block contents are kept as read so that generation is lossless.

    `fields` is block 4 in `:TAG:value` form (multi-line values joined with LF); `system` is block 4 in
    `{tag:value}` form as used by service messages. `headless` marks a block-4-only statement (bank export).
    """

    basic: str | None = None
    application: str | None = None
    user: Tags | None = None
    fields: Tags | None = None
    system: Tags | None = None
    trailer: Tags | None = None
    others: list[tuple[str, str]] = field(default_factory=list)
    ack: FinMessage | None = None
    headless: bool = False

    @property
    def is_service(self) -> bool:
        """ACK/NAK and other service messages carry service id != 01 in block 1."""
        return self.basic is not None and len(self.basic) >= 3 and self.basic[1:3] != "01"

    @property
    def mt_type(self) -> str | None:
        """Message type from block 2 ("103"), or guessed from the fields for a headless statement."""
        app = self.application
        if app and app[0] in "IO" and len(app) >= 4 and app[1:4].isdigit():
            return app[1:4]
        if self.headless and self.fields is not None:
            tags = {tag for tag, _ in self.fields}
            if tags & {"60F", "60M"}:
                return "940" if "86" in tags or "61" in tags else "950"
        return None

    @property
    def direction(self) -> str | None:
        """'I' for a message sent to SWIFT, 'O' for one delivered by SWIFT."""
        return self.application[0] if self.application and self.application[0] in "IO" else None

    def user_value(self, tag: str) -> str | None:
        for key, value in self.user or []:
            if key == tag:
                return value
        return None

    def field_values(self, tag: str) -> list[str]:
        return [value for key, value in self.fields or [] if key == tag]

    def first(self, *tags: str) -> tuple[str, str] | None:
        """The first field whose tag is one of `tags` (e.g. the options of 50a)."""
        for key, value in self.fields or []:
            if key in tags:
                return key, value
        return None


def _decode(data: bytes) -> str:
    # SWIFT's X character set is ASCII; real files may carry UTF-8 (Japanese names) or Latin-1 bytes.
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    # CR before LF is line-end noise (CRLF, or CRCRLF from double conversion); LF alone marks a line end.
    return re.sub(r"\r+\n", "\n", text.removeprefix("\ufeff"))


class _Reader:
    """Cursor over the text of a file; every failure becomes a Problem at the offset it happened."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, rule: str, found: str) -> MessageError:
        return MessageError([Problem(f"offset {self.pos}", rule, found)])

    def until(self, stop: str) -> str:
        end = self.text.find(stop, self.pos)
        if end < 0:
            raise self.fail("FIN syntax", f"missing {stop!r}")
        value = self.text[self.pos : end]
        self.pos = end + len(stop)
        return value

    def expect(self, char: str) -> None:
        if not self.text.startswith(char, self.pos):
            raise self.fail("FIN syntax", f"expected {char!r}, found {self.text[self.pos : self.pos + 10]!r}")
        self.pos += len(char)

    def tags(self) -> Tags:
        """`{tag:value}{tag:value}}`: a sequence of tag blocks closed by the outer `}`."""
        result: Tags = []
        while not self.text.startswith("}", self.pos):
            self.expect("{")
            tag = self.until(":")
            if not tag or "{" in tag or "}" in tag or "\n" in tag:
                raise self.fail("FIN syntax", f"bad tag {tag[:20]!r}")
            value = self.until("}")
            if "{" in value:
                raise self.fail("FIN syntax", f"'{{' inside value of {{{tag}:}}")
            result.append((tag, value))
        self.pos += 1
        return result

    def raw_block(self) -> str:
        """The content of an unknown block up to its matching `}`."""
        depth, start = 1, self.pos
        while self.pos < len(self.text):
            char = self.text[self.pos]
            self.pos += 1
            if char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
                if depth == 0:
                    return self.text[start : self.pos - 1]
        raise self.fail("FIN syntax", "unterminated block")


def parse_text_block(body: str, path: str = "{4:}") -> Tags:
    """Split block 4 text into (tag, value); lines that do not start a field continue the previous value."""
    fields: Tags = []
    for line in body.split("\n"):
        match = FIELD_LINE.match(line)
        if match:
            fields.append((match.group(1), match.group(2)))
        elif fields:
            tag, value = fields[-1]
            fields[-1] = (tag, f"{value}\n{line}")
        elif line.strip():
            raise MessageError([Problem(path, "FIN syntax", f"text before the first field: {line[:40]!r}")])
    return fields


def _enveloped(text: str) -> list[FinMessage]:
    reader = _Reader(text)
    messages: list[FinMessage] = []
    current: FinMessage | None = None
    start = 0
    while True:
        while reader.pos < len(text) and text[reader.pos] in " \t\n\r$\x00\x1a\x03\x01":
            reader.pos += 1
        if reader.pos >= len(text):
            break
        block_start = reader.pos
        if re.match(r"\{\s*(\$|\Z)", text[reader.pos :]):
            # A lone "{" before the RJE separator: Alliance writes it for an aborted message; it holds nothing.
            reader.pos += 1
            continue
        reader.expect("{")
        block_id = reader.until(":")
        if not re.fullmatch(r"[0-9A-Z]{1,3}", block_id):
            raise reader.fail("FIN syntax", f"bad block id {block_id[:10]!r}")
        if block_id == "1" or current is None:
            if current is not None:
                _check_size(text, start, block_start, len(messages))
                messages.append(current)
                if len(messages) > MAX_MESSAGES:
                    raise reader.fail("FIN bounds", f"more than {MAX_MESSAGES} messages in one file")
            current, start = FinMessage(), block_start
        if block_id in ("1", "2"):
            value = reader.until("}")
            if "{" in value:
                raise reader.fail("FIN syntax", f"'{{' inside block {block_id}")
            if block_id == "1":
                current.basic = value
            elif current.application is None:
                current.application = value
            else:
                raise reader.fail("FIN syntax", "block 2 twice")
        elif block_id == "3":
            current.user = reader.tags()
        elif block_id == "4":
            if current.fields is not None or current.system is not None:
                raise reader.fail("FIN syntax", "block 4 twice")
            if text.startswith("{", reader.pos):
                current.system = reader.tags()
            elif text.startswith("-}", reader.pos):
                reader.pos += 2
                current.fields = []
            else:
                body = reader.until("\n-}")
                current.fields = parse_text_block(body.removeprefix("\n"))
        elif block_id == "5":
            current.trailer = reader.tags()
        else:
            current.others.append((block_id, reader.raw_block()))
    if current is not None:
        _check_size(text, start, len(text), len(messages))
        messages.append(current)
    if len(messages) > MAX_MESSAGES:
        raise MessageError([Problem("(file)", "FIN bounds", f"more than {MAX_MESSAGES} messages in one file")])
    return _attach_acks(messages)


def _check_size(text: str, start: int, end: int, index: int) -> None:
    size = len(text[start:end].encode("utf-8", "surrogatepass"))
    if size > MAX_MESSAGE_BYTES:
        raise MessageError([Problem(f"message {index + 1}", "FIN bounds", f"{size} bytes > {MAX_MESSAGE_BYTES}")])


def _attach_acks(messages: list[FinMessage]) -> list[FinMessage]:
    """An ACK/NAK (F21) directly in front of a message belongs to it, as SWIFT Alliance writes them."""
    result: list[FinMessage] = []
    pending: FinMessage | None = None
    for message in messages:
        if message.basic is not None and message.basic[1:3] == SERVICE_ACK and message.application is None:
            if pending is not None:
                result.append(pending)
            pending = message
            continue
        if pending is not None:
            message.ack, pending = pending, None
        result.append(message)
    if pending is not None:
        result.append(pending)
    return result


def _headless(text: str) -> list[FinMessage]:
    chunks: list[list[str]] = [[]]
    for line in text.split("\n"):
        if line.rstrip(" \t\x03") in ("-", "-}"):
            chunks.append([])
        else:
            chunks[-1].append(line)
    messages: list[FinMessage] = []
    for chunk in chunks:
        body = "\n".join(chunk)
        if not body.strip():
            continue
        if len(body.encode("utf-8", "surrogatepass")) > MAX_MESSAGE_BYTES:
            problem = Problem(f"message {len(messages) + 1}", "FIN bounds", f"over {MAX_MESSAGE_BYTES} bytes")
            raise MessageError([problem])
        fields = parse_text_block(body.strip("\n"))
        messages.append(FinMessage(fields=fields, headless=True))
        if len(messages) > MAX_MESSAGES:
            raise MessageError([Problem("(file)", "FIN bounds", f"more than {MAX_MESSAGES} messages in one file")])
    return messages


def parse_file(data: bytes) -> list[FinMessage]:
    """All messages of a FIN/RJE file or a headless statement export; MessageError if it is not one."""
    if len(data) > MAX_FILE_BYTES:
        raise MessageError([Problem("(file)", "FIN bounds", f"{len(data)} bytes > {MAX_FILE_BYTES}")])
    text = _decode(data)
    # SOH/ETX frame bank exports sent over file transfer; they are not part of any message.
    stripped = text.lstrip(" \t\n\r$\x00\x01").rstrip(" \t\n\r\x00\x03")
    if stripped.startswith("{"):
        messages = _enveloped(stripped)
    elif stripped.startswith(":"):
        messages = _headless(stripped)
    else:
        raise MessageError([Problem("(file)", "FIN syntax", f"not a FIN message: starts with {stripped[:10]!r}")])
    if not messages:
        raise MessageError([Problem("(file)", "FIN syntax", "no message found")])
    return messages


def _tags(tags: Tags) -> str:
    return "".join(f"{{{tag}:{value}}}" for tag, value in tags)


def generate_message(message: FinMessage) -> str:
    """One message as canonical FIN text (CRLF line ends)."""
    if message.headless:
        lines = [f":{tag}:{value}" for tag, value in message.fields or []]
        return "\r\n".join([*lines, "-"]).replace("\n", "\r\n").replace("\r\r\n", "\r\n")
    out: list[str] = []
    if message.ack is not None:
        out.append(generate_message(message.ack))
    if message.basic is not None:
        out.append(f"{{1:{message.basic}}}")
    if message.application is not None:
        out.append(f"{{2:{message.application}}}")
    if message.user is not None:
        out.append(f"{{3:{_tags(message.user)}}}")
    if message.system is not None:
        out.append(f"{{4:{_tags(message.system)}}}")
    elif message.fields is not None:
        text = "".join(f"\n:{tag}:{value}" for tag, value in message.fields)
        out.append("{4:" + text.replace("\n", "\r\n") + "\r\n-}")
    if message.trailer is not None:
        out.append(f"{{5:{_tags(message.trailer)}}}")
    out.extend(f"{{{block_id}:{raw}}}" for block_id, raw in message.others)
    return "".join(out)


def generate(messages: list[FinMessage]) -> bytes:
    """A file of messages: RJE (`$` between messages) when there are several."""
    if messages and all(m.headless for m in messages):
        return "\r\n".join(generate_message(m) for m in messages).encode("utf-8", "surrogatepass")
    return "\r\n$".join(generate_message(m) for m in messages).encode("utf-8", "surrogatepass")
