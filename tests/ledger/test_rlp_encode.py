"""ledger.rlp_encode must produce exactly pyrlp's bytes: stored records and signatures depend on it."""

from __future__ import annotations

import pytest
import rlp
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import rlp_encode

NESTED = st.recursive(
    st.one_of(st.binary(max_size=80), st.binary(min_size=50, max_size=300)),
    lambda inner: st.one_of(st.lists(inner, max_size=6), st.lists(inner, max_size=3).map(tuple)),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(NESTED)
def test_equals_pyrlp(item):
    assert rlp_encode.encode(item) == rlp.encode(item)


@given(NESTED)
def test_pyrlp_decodes_it_back(item):
    def as_lists(value):
        return [as_lists(v) for v in value] if isinstance(value, list | tuple) else value

    assert rlp.decode(rlp_encode.encode(item), strict=True) == as_lists(item)


@pytest.mark.parametrize(
    ("item", "encoded"),
    [
        (b"", b"\x80"),
        (b"\x00", b"\x00"),
        (b"\x7f", b"\x7f"),
        (b"\x80", b"\x81\x80"),
        (b"dog", b"\x83dog"),
        ([], b"\xc0"),
        ([b"cat", b"dog"], b"\xc8\x83cat\x83dog"),
        ([[], [[]], [[], [[]]]], b"\xc7\xc0\xc1\xc0\xc3\xc0\xc1\xc0"),  # the set-theoretic three
        (b"a" * 55, b"\xb7" + b"a" * 55),
        (b"a" * 56, b"\xb8\x38" + b"a" * 56),
        (b"a" * 256, b"\xb9\x01\x00" + b"a" * 256),
        ([b"a" * 54], b"\xf7\xb6" + b"a" * 54),
        ([b"a" * 55], b"\xf8\x38\xb7" + b"a" * 55),
    ],
)
def test_known_vectors(item, encoded):
    assert rlp_encode.encode(item) == encoded


@pytest.mark.parametrize("length", [55, 56, 255, 256, 65_535, 65_536, 70_000])
def test_length_prefix_boundaries(length):
    blob = bytes(length)
    assert rlp_encode.encode(blob) == rlp.encode(blob)
    assert rlp_encode.encode([blob]) == rlp.encode([blob])


def test_bytearray_is_encoded_like_bytes():
    assert rlp_encode.encode(bytearray(b"dog")) == b"\x83dog"
    assert rlp_encode.encode(bytearray(b"\x01")) == b"\x01"


@pytest.mark.parametrize("item", [1, "dog", None, [b"ok", 2], {b"a": b"b"}])
def test_refuses_other_types(item):
    with pytest.raises(TypeError):
        rlp_encode.encode(item)


@settings(max_examples=200, deadline=None)
@given(st.lists(NESTED, max_size=5), st.data())
def test_an_already_encoded_item_is_spliced_in_as_it_is(items, data):
    spliced = [
        rlp_encode.Encoded(rlp_encode.encode(item)) if data.draw(st.booleans(), label=f"pre-encode {i}") else item
        for i, item in enumerate(items)
    ]
    assert rlp_encode.encode(spliced) == rlp.encode(items)
