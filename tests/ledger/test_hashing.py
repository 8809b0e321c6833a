"""keccak-256 gives the published vectors and agrees with eth-hash's reference backend."""

from __future__ import annotations

from eth_hash.backends.pycryptodome import keccak256 as reference
from hypothesis import given
from hypothesis import strategies as st

from ledger.hashing import keccak


def test_empty_input_vector() -> None:
    assert keccak(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"


def test_abc_vector() -> None:
    assert keccak(b"abc").hex() == "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"


@given(st.binary(max_size=600))
def test_agrees_with_pycryptodome(data: bytes) -> None:
    assert keccak(data) == reference(data)
