"""A fast RLP encoder for the two shapes the node writes: byte strings and lists of them.

pyrlp infers a serializer for every item it encodes, which costs ~20 µs per small list and
made RLP encoding most of a block's application time. Records here are already bytes and
lists, so encoding is the textbook function below, with the common cases (short byte strings
inside a list) inlined: every committed transfer writes several records on every validator.
Decoding faces the network and lives in ledger/rlp_decode.py. tests/ledger/test_rlp_encode.py
checks equality with pyrlp.
"""

from __future__ import annotations

_STRING_PREFIX = [bytes((0x80 + n,)) for n in range(56)]

_LIST_PREFIX = [bytes((0xC0 + n,)) for n in range(56)]


class Encoded(bytes):
    """An item that is already RLP: `encode` emits it as it is.

    A proposed block sits in the consensus state file up to three times (signed proposal,
    locked value, valid value) and that file is rewritten at every step: its encoding is made
    once (node.p2p.wire.encoded_block) and spliced in."""


def _length_prefix(length: int, offset: int) -> bytes:
    if length < 56:
        return bytes((offset + length,))
    length_bytes = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((offset + 55 + len(length_bytes),)) + length_bytes


def list_prefix(payload_length: int) -> bytes:
    """The header of a list whose items' encodings total `payload_length` bytes."""
    return _LIST_PREFIX[payload_length] if payload_length < 56 else _length_prefix(payload_length, 0xC0)


def encode(item: bytes | list | tuple) -> bytes:
    kind = type(item)
    if kind is list or kind is tuple:
        parts: list[bytes] = []
        append = parts.append
        for element in item:  # type: ignore[union-attr]
            if type(element) is bytes:
                size = len(element)
                if size == 1 and element[0] < 0x80:
                    append(element)
                    continue
                append(_STRING_PREFIX[size] if size < 56 else _length_prefix(size, 0x80))
                append(element)
            else:
                append(encode(element))
        payload = b"".join(parts)
        size = len(payload)
        return (_LIST_PREFIX[size] if size < 56 else _length_prefix(size, 0xC0)) + payload
    if kind is Encoded:
        return item  # type: ignore[return-value]
    if isinstance(item, bytes | bytearray):
        size = len(item)
        if size == 1 and item[0] < 0x80:
            return bytes(item)
        return (_STRING_PREFIX[size] if size < 56 else _length_prefix(size, 0x80)) + item
    if isinstance(item, list | tuple):  # subclasses
        return encode(list(item))
    raise TypeError(f"RLP encodes bytes and lists, not {type(item).__name__}")
