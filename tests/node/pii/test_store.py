"""node/pii/store.py: envelopes kept owner-only; erasure overwrites them and leaves a tombstone."""

from __future__ import annotations

import json
import stat

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from gateways.personal_data import seal
from ledger.hashing import keccak
from node.pii.request import parse_request, sign_request
from node.pii.store import EnvelopeStore, Tombstone

KEY = keccak(b"gateway key")


def stored_request(message: bytes = b"pacs.008"):
    bank = X25519PrivateKey.generate().public_key()
    envelope = seal({"/cdtr/nm": "Erika Mustermann"}, keccak(message), {"BANKBBBB": bank})
    return parse_request(sign_request(envelope, "DE89370400440532013000", 1337, KEY))


def test_envelopes_are_owner_only_and_read_back(tmp_path):
    store = EnvelopeStore(tmp_path)
    request = stored_request()
    assert store.get(request.message_hash) is None
    assert store.put(request) and not store.put(request)  # the second copy is not written again
    path = tmp_path / "personal-data" / f"{request.message_hash.hex()}.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert store.get(request.message_hash) == request
    assert list(store.hashes()) == [request.message_hash]


def test_shredding_leaves_only_the_hash_and_the_height(tmp_path):
    store = EnvelopeStore(tmp_path)
    request = stored_request()
    store.put(request)
    wrapped = request.envelope["keys"]["BANKBBBB"]["wrapped"]
    assert store.shred(request.message_hash, 42)
    path = tmp_path / "personal-data" / f"{request.message_hash.hex()}.json"
    text = path.read_text()
    assert wrapped not in text and "fields" not in text
    assert json.loads(text) == {"message_hash": request.message_hash.hex(), "erased": 42}
    with pytest.raises(Tombstone, match="erased in block 42"):
        store.get(request.message_hash)
    assert not store.put(request)  # a tombstone is never overwritten by the envelope again
    assert not store.shred(request.message_hash, 43)  # nothing left to shred
    other = stored_request(b"another message")
    assert not store.shred(other.message_hash, 44)  # erased before it arrived: the tombstone refuses it later
    assert not store.put(other)
