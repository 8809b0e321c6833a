"""keccak-256, called directly on pycryptodome.

eth_hash's dispatch layer doubled the cost of each hash in admission profiles (three hashes
per transaction: its hash, its signing hash, the signer's address). Same function, same bytes.
"""

from __future__ import annotations

from Crypto.Hash import keccak as _keccak


def keccak(data: bytes) -> bytes:
    return _keccak.new(digest_bits=256, data=data).digest()
