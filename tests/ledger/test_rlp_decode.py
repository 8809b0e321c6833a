"""The bounded RLP decoder agrees with pyrlp's strict mode, and refuses deep nesting fast."""

from __future__ import annotations

import time

import pytest
import rlp
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.rlp_decode import RlpDecodingError, decode
from ledger.rlp_encode import encode

items = st.recursive(st.binary(max_size=70), lambda children: st.lists(children, max_size=5), max_leaves=25)


def depth(item: object) -> int:
    return 1 + max((depth(child) for child in item), default=0) if isinstance(item, list) else 0


def pyrlp(data: bytes) -> object:
    try:
        return rlp.decode(data, strict=True)
    except rlp.exceptions.DecodingError:
        return RlpDecodingError


def ours(data: bytes, max_depth: int = 64) -> object:
    try:
        return decode(data, max_depth)
    except RlpDecodingError:
        return RlpDecodingError


@settings(max_examples=300, deadline=None)
@given(items)
def test_round_trip(item):
    assert decode(encode(item), 64) == item


@settings(max_examples=600, deadline=None)
@given(st.binary(max_size=120))
def test_agrees_with_pyrlp_strict_on_arbitrary_bytes(data):
    assert ours(data) == pyrlp(data)


@settings(max_examples=300, deadline=None)
@given(items, st.integers(0, 200), st.integers(0, 255))
def test_agrees_with_pyrlp_strict_on_mutated_encodings(item, position, byte):
    data = bytearray(encode(item))
    if data:
        data[position % len(data)] = byte
    assert ours(bytes(data)) == pyrlp(bytes(data))


@pytest.mark.parametrize(
    "data",
    [b"", b"\x81\x05", b"\xb8\x01\x00", b"\xb9\x00\x40" + b"a" * 64, b"\x82\x01", b"\xc1\x01\x02", b"\x01\x02"],
)
def test_non_canonical_or_truncated_input_is_refused(data):
    with pytest.raises(RlpDecodingError):
        decode(data, 8)


@settings(max_examples=100, deadline=None)
@given(items)
def test_depth_limit(item):
    if depth(item) > 3:
        with pytest.raises(RlpDecodingError, match="nested deeper"):
            decode(encode(item), 3)
    else:
        assert decode(encode(item), 3) == item


def _list_header(length: int) -> bytes:
    from ledger.rlp_encode import list_prefix

    return list_prefix(length)


def test_deep_nesting_is_refused_quickly():
    data = b"\xc0"
    for _ in range(20_000):  # encode() itself would recurse 20,000 deep
        data = _list_header(len(data)) + data
    started = time.perf_counter()
    with pytest.raises(RlpDecodingError, match="nested deeper"):
        decode(data, 8)
    assert time.perf_counter() - started < 1.0
