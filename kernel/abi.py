"""The /dev/qenex_banking ABI, read from kernel/qenex_ioctl.h itself.

Why parse the header rather than restate it: the module, the C test client and Python must agree
byte for byte, and a second copy of the layouts would drift. The header is written to be parsed
(fixed-width types, one member per line, no implicit padding), and tests/kernel/test_abi.py
compiles it with the host C compiler and checks every size, offset and ioctl number below.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from importlib import resources

HEADER_NAME = "qenex_ioctl.h"

_TYPES = {"__u32": "I", "__s32": "i", "__u64": "Q", "__s64": "q"}
_DEFINE = re.compile(r"^#define\s+(QENEX_\w+)\s+(.+?)\s*(?:/\*.*)?$")
_STRUCT = re.compile(r"struct\s+(qenex_\w+)\s*\{(.*?)\};", re.S)
_MEMBER = re.compile(r"^\s*(__[us](?:32|64))\s+(\w+);")
_IOCTL = re.compile(r"^_IO(R|W|WR)?\((\w+),\s*(\d+)(?:,\s*struct\s+(\w+))?\)$")

# asm-generic/ioctl.h (x86, arm64, riscv): nr 8 bits, type 8, size 14, dir 2.
_IOC_NONE, _IOC_WRITE, _IOC_READ = 0, 1, 2
_DIRECTIONS = {None: _IOC_NONE, "W": _IOC_WRITE, "R": _IOC_READ, "WR": _IOC_READ | _IOC_WRITE}


class AbiHeaderError(ValueError):
    """The header does not follow the rules that keep it parseable (see its opening comment)."""


@dataclass(frozen=True)
class Layout:
    """One C struct of the header: its fields in order and a little-endian struct.Struct."""

    name: str
    fields: tuple[str, ...]
    offsets: tuple[int, ...]
    codec: struct.Struct

    @property
    def size(self) -> int:
        return self.codec.size

    def pack(self, **values: int) -> bytes:
        unknown = set(values) - set(self.fields)
        if unknown:
            raise TypeError(f"struct {self.name} has no field {sorted(unknown)}")
        return self.codec.pack(*(values.get(name, 0) for name in self.fields))

    def unpack(self, data: bytes | bytearray | memoryview, offset: int = 0) -> dict[str, int]:
        return dict(zip(self.fields, self.codec.unpack_from(data, offset), strict=True))


@dataclass(frozen=True)
class Abi:
    constants: dict[str, int | str]
    structs: dict[str, Layout]
    ioctls: dict[str, int]

    def const(self, name: str) -> int:
        value = self.constants[name]
        assert isinstance(value, int), name
        return value


def header_text() -> str:
    return resources.files("kernel").joinpath(HEADER_NAME).read_text()


def _layout(name: str, body: str) -> Layout:
    fields: list[str] = []
    offsets: list[int] = []
    codes = "<"
    offset = 0
    for line in body.splitlines():
        if not line.strip() or line.strip().startswith(("/*", "*")):
            continue
        member = _MEMBER.match(line)
        if member is None:
            raise AbiHeaderError(f"struct {name}: cannot read member line {line.strip()!r}")
        code = _TYPES[member.group(1)]
        width = struct.calcsize("<" + code)
        if offset % width:
            raise AbiHeaderError(f"struct {name}.{member.group(2)} is not naturally aligned (offset {offset})")
        fields.append(member.group(2))
        offsets.append(offset)
        codes += code
        offset += width
    alignment = max((struct.calcsize("<" + c) for c in codes[1:]), default=1)
    if offset % alignment:
        raise AbiHeaderError(f"struct {name} has tail padding; add an explicit reserved field")
    return Layout(name, tuple(fields), tuple(offsets), struct.Struct(codes))


def parse_header(text: str) -> Abi:
    """Constants, struct layouts and ioctl numbers of the header text."""
    constants: dict[str, int | str] = {}
    raw_ioctls: dict[str, str] = {}
    for line in text.splitlines():
        match = _DEFINE.match(line.strip())
        if match is None or match.group(1) == "QENEX_IOCTL_H":
            continue
        name, value = match.group(1), match.group(2).strip()
        if value.startswith("_IO"):
            raw_ioctls[name] = value
        elif value.startswith('"'):
            constants[name] = value.strip('"')
        else:
            constants[name] = int(value, 0)
    structs = {m.group(1): _layout(m.group(1), m.group(2)) for m in _STRUCT.finditer(text)}
    ioctls = {}
    for name, value in raw_ioctls.items():
        match = _IOCTL.match(value)
        if match is None:
            raise AbiHeaderError(f"{name}: cannot read {value!r}")
        direction, magic, number, struct_name = match.groups()
        size = structs[struct_name].size if struct_name else 0
        magic_value = constants[magic]
        assert isinstance(magic_value, int)
        ioctls[name] = (_DIRECTIONS[direction] << 30) | (size << 16) | (magic_value << 8) | int(number)
    return Abi(constants, structs, ioctls)


ABI = parse_header(header_text())
ABI_VERSION = ABI.const("QENEX_ABI_VERSION")
DEVICE_PATH = f"/dev/{ABI.constants['QENEX_DEVICE_NAME']}"
TABLE_MAGIC = ABI.const("QENEX_TABLE_MAGIC")
MAX_SLOTS = ABI.const("QENEX_MAX_SLOTS")
BATCH_MAX = ABI.const("QENEX_BATCH_MAX")
HEADER_BYTES = ABI.const("QENEX_TABLE_HEADER_BYTES")
TABLE_HEADER = ABI.structs["qenex_table_header"]
SLOT = ABI.structs["qenex_slot"]
PAGE_BYTES = 4096
TABLE_BYTES = -(-(HEADER_BYTES + MAX_SLOTS * SLOT.size) // PAGE_BYTES) * PAGE_BYTES
assert TABLE_HEADER.size == HEADER_BYTES, "the table header must be QENEX_TABLE_HEADER_BYTES long"
# Offsets readers use on the hot path.
SEQ_OFFSET = TABLE_HEADER.offsets[TABLE_HEADER.fields.index("seq")]
EPOCH_OFFSET = TABLE_HEADER.offsets[TABLE_HEADER.fields.index("epoch")]
COUNT_OFFSET = TABLE_HEADER.offsets[TABLE_HEADER.fields.index("slot_count")]
