"""A bounded, non-recursive, strict RLP decoder for bytes that come from the network.

pyrlp decodes recursively and copies each list's payload, so 128 KiB of nested lists cost it
seconds (or a RecursionError), and its generic machinery was a tenth of a node's admission
time. This decoder walks the input once with an explicit stack, refuses nesting deeper than
`max_depth`, and is as strict as pyrlp's strict mode: canonical lengths only (a single byte
below 0x80 is never wrapped, short forms are used below 56 bytes, no leading zeros in a
length), every length inside its parent, nothing after the top item.
tests/ledger/test_rlp_decode.py checks it against pyrlp on arbitrary input.
"""

from __future__ import annotations


class RlpDecodingError(ValueError):
    """The bytes are not one canonical RLP item."""


def payload_span(data: bytes | memoryview, position: int) -> tuple[int, int]:
    """Where the payload of the item at `position` starts and where the item ends, for input
    already checked by `decode` (it trusts the lengths)."""
    prefix = data[position]
    if prefix < 0x80:
        return position, position + 1
    if prefix < 0xB8 or 0xC0 <= prefix < 0xF8:
        start = position + 1
        return start, start + prefix - (0x80 if prefix < 0xC0 else 0xC0)
    size = prefix - (0xB7 if prefix < 0xC0 else 0xF7)
    start = position + 1 + size
    return start, start + int.from_bytes(data[position + 1 : start], "big")


def decode(data: bytes, max_depth: int) -> bytes | list:
    end = len(data)
    if end == 0:
        raise RlpDecodingError("no RLP item: the input is empty")
    root: list = []
    stack: list[tuple[list, int]] = [(root, end)]  # (list being filled, where its payload ends)
    position = 0
    while True:
        current, current_end = stack[-1]
        if position == current_end:
            if len(stack) == 1:
                break
            stack.pop()
            continue
        prefix = data[position]
        if prefix < 0x80:
            current.append(data[position : position + 1])
            position += 1
            continue
        if prefix < 0xB8 or 0xC0 <= prefix < 0xF8:
            length = prefix - (0x80 if prefix < 0xC0 else 0xC0)
            start = position + 1
        else:
            size = prefix - (0xB7 if prefix < 0xC0 else 0xF7)
            if position + 1 + size > current_end:
                raise RlpDecodingError(f"length of the item at byte {position} runs past its container")
            length_bytes = data[position + 1 : position + 1 + size]
            if length_bytes[0] == 0:
                raise RlpDecodingError(f"length of the item at byte {position} has leading zeros")
            length = int.from_bytes(length_bytes, "big")
            if length < 56:
                raise RlpDecodingError(f"item at byte {position} uses the long form for {length} bytes")
            start = position + 1 + size
        stop = start + length
        if stop > current_end:
            raise RlpDecodingError(f"item at byte {position} claims {length} bytes, past the end of its container")
        if prefix < 0xC0:
            value = data[start:stop]
            if length == 1 and value[0] < 0x80:
                raise RlpDecodingError(f"single byte below 0x80 at byte {position} must not be wrapped")
            current.append(value)
            position = stop
            continue
        if len(stack) > max_depth:
            raise RlpDecodingError(f"lists nested deeper than {max_depth}")
        child: list = []
        current.append(child)
        stack.append((child, stop))
        position = start
    if len(root) != 1:
        raise RlpDecodingError(f"{len(root) - 1} trailing item(s) after the RLP item")
    return root[0]
