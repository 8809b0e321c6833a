"""Decoding Ethereum transactions: the three types, and each refusal with geth's message."""

from __future__ import annotations

import pytest
from eth_account import Account
from hypothesis import given
from hypothesis import strategies as st

from contracts.evm.transaction import MAX_TX_BYTES, EvmTxInvalid, decode_ethereum, is_ethereum_raw

KEY = Account.from_key(b"\x02" * 32)
TO = "0x" + "11" * 20


@pytest.mark.parametrize(
    ("fields", "type_id"),
    [
        ({"gasPrice": 1}, 0),
        ({"gasPrice": 1, "accessList": [{"address": TO, "storageKeys": ["0x" + "00" * 32]}], "type": 1}, 1),
        ({"maxFeePerGas": 2, "maxPriorityFeePerGas": 1}, 2),
    ],
)
def test_legacy_2930_and_1559_decode_with_sender_and_hash(fields, type_id):
    signed = KEY.sign_transaction({"nonce": 3, "gas": 21_000, "to": TO, "value": 9, "chainId": 1337} | fields)
    tx, sender = decode_ethereum(bytes(signed.raw_transaction), 1337)
    assert (tx.type_id, tx.chain_id, tx.nonce, sender) == (type_id, 1337, 3, KEY.address)
    assert tx.evm_tx.hash == bytes(signed.hash)
    assert is_ethereum_raw(bytes(signed.raw_transaction))


def test_wrong_chain_and_unprotected_are_refused():
    raw = bytes(
        KEY.sign_transaction({"nonce": 0, "gas": 21_000, "to": TO, "gasPrice": 0, "chainId": 1}).raw_transaction
    )
    with pytest.raises(EvmTxInvalid, match="invalid chain id for signer: have 1 want 1337"):
        decode_ethereum(raw, 1337)
    raw = bytes(KEY.sign_transaction({"nonce": 0, "gas": 21_000, "to": TO, "gasPrice": 0}).raw_transaction)
    with pytest.raises(EvmTxInvalid, match="only replay-protected"):
        decode_ethereum(raw, 1337)


def test_bad_signature_is_invalid_sender():
    raw = bytearray(
        KEY.sign_transaction(
            {"nonce": 0, "gas": 21_000, "to": TO, "maxFeePerGas": 0, "maxPriorityFeePerGas": 0, "chainId": 1337}
        ).raw_transaction
    )
    raw[-40] ^= 0xFF  # inside s
    with pytest.raises(EvmTxInvalid) as refused:
        decode_ethereum(bytes(raw), 1337)
    assert refused.value.rule in ("invalid_signature", "malformed")


def test_oversized_and_unsupported_types():
    with pytest.raises(EvmTxInvalid, match=f"oversized data: transaction size {MAX_TX_BYTES + 1}, limit"):
        decode_ethereum(b"\x02" + bytes(MAX_TX_BYTES), 1337)
    with pytest.raises(EvmTxInvalid, match="transaction type not supported"):
        decode_ethereum(b"\x03\xc0", 1337)
    with pytest.raises(EvmTxInvalid, match="transaction type not supported"):
        decode_ethereum(b"\x04\xc0", 1337)


@given(st.binary(max_size=512))
def test_any_bytes_decode_or_are_refused_with_a_rule(raw):
    try:
        tx, _ = decode_ethereum(raw, 1337)
    except EvmTxInvalid as refused:
        assert refused.rule and refused.message
    else:
        assert tx.chain_id == 1337


@given(st.sampled_from([0, 1, 2]), st.binary(min_size=1, max_size=300))
def test_typed_prefixes_with_garbage_are_refused(type_byte, body):
    raw = (bytes([type_byte]) if type_byte else b"") + body
    try:
        decode_ethereum(raw, 1337)
    except EvmTxInvalid as refused:
        assert refused.rule


def test_the_nodes_own_envelopes_are_not_ethereum():
    assert not is_ethereum_raw(b"\x51\xc0") and not is_ethereum_raw(b"\x52\xc0")
    assert is_ethereum_raw(b"\x02\xc0") and is_ethereum_raw(b"\xf8\x00")
