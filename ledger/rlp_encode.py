"""A fast RLP encoder for the two shapes the node writes: byte strings and lists of them.

pyrlp infers a serializer for every item it encodes, which costs ~20 µs per small list and
made RLP encoding most of a block's application time. Records here are already bytes and
lists, so encoding is the textbook function below. Decoding stays with pyrlp (strict mode):
it faces the network. tests/ledger/test_rlp_encode.py checks equality with pyrlp.
"""

from __future__ import annotations


def _length_prefix(length: int, offset: int) -> bytes:
    if length < 56:
        return bytes([offset + length])
    length_bytes = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([offset + 55 + len(length_bytes)]) + length_bytes


def list_prefix(payload_length: int) -> bytes:
    """The header of a list whose items' encodings total `payload_length` bytes."""
    return _length_prefix(payload_length, 0xC0)


def encode(item: bytes | list | tuple) -> bytes:
    if isinstance(item, bytes | bytearray):
        if len(item) == 1 and item[0] < 0x80:
            return bytes(item)
        return _length_prefix(len(item), 0x80) + item
    if isinstance(item, list | tuple):
        payload = b"".join([encode(element) for element in item])
        return _length_prefix(len(payload), 0xC0) + payload
    raise TypeError(f"RLP encodes bytes and lists, not {type(item).__name__}")
