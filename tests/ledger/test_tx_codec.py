"""The signed ledger transaction (type 0x51): round trips, signer recovery, and a strict decoder.

Decoding faces the network, so besides the round trip every refusal is checked to name the field
at fault, and fuzzing checks that no input escapes with an exception other than the two the node
handles (TransactionDecodeError from decoding, InvalidSignatureError from recovering the signer).
"""

from __future__ import annotations

import contextlib
import dataclasses
import time

import pytest
import rlp
from eth_account import Account as EthAccount
from eth_hash.auto import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import rlp_encode
from ledger.codec import decode_stored_transfer, encode_stored_transfer, int_to_bytes, transfer_fields
from ledger.transfer import PendingStatus, StoredTransfer, Transfer, TransferFlags
from ledger.tx import (
    LEDGER_TX_TYPE,
    MAX_TRANSFERS_PER_TX,
    MAX_TX_BYTES,
    SECP256K1_N,
    InvalidSignatureError,
    LedgerTransaction,
    References,
    TransactionDecodeError,
    address_of_key,
    decode_transaction,
    recover_sender,
)

KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
OTHER_KEY = bytes(31) + b"\x07"

# --- strategies shaped like what the decoder accepts ---------------------------------------------

ID_TEXT = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789:_-.", max_size=64)
TRANSFERS = st.builds(
    Transfer,
    id=st.integers(0, 2**128 - 1),
    debit_account_id=ID_TEXT,
    credit_account_id=ID_TEXT,
    amount=st.integers(0, 2**128 - 1),
    currency=st.one_of(st.just(""), st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=3, max_size=3)),
    code=st.integers(0, 2**16 - 1),
    flags=st.integers(0, 15).map(TransferFlags),
    pending_id=st.integers(0, 2**128 - 1),
    timeout_seconds=st.integers(0, 2**32 - 1),
    fx_rate=st.text("0123456789.", max_size=32),
)
REFERENCES = st.builds(
    References,
    end_to_end_id=st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=35),
    uetr=st.one_of(st.just(b""), st.binary(min_size=16, max_size=16)),
    message_hash=st.one_of(st.just(b""), st.binary(min_size=32, max_size=32)),
)
KEYS = st.integers(1, SECP256K1_N - 1).map(lambda k: k.to_bytes(32, "big"))
UNSIGNED = st.builds(
    LedgerTransaction,
    chain_id=st.integers(0, 2**64 - 1),
    nonce=st.integers(0, 2**64 - 1),
    transfers=st.lists(TRANSFERS, min_size=1, max_size=4).map(tuple),
    references=REFERENCES,
)


def sample_tx(**fields) -> LedgerTransaction:
    transfers = (
        Transfer(1, "DE89370400440532013000", "GL:BANKA:CASH", 12_345, "EUR", flags=TransferFlags.LINKED),
        Transfer(2, "GL:BANKA:FX:EUR", "GL:BANKA:FX:USD", 1, "EUR", code=7, fx_rate="1.0825"),
    )
    tx = LedgerTransaction(
        chain_id=1337, nonce=5, transfers=transfers, references=References("E2E-1", bytes(range(16)), bytes(32))
    )
    return dataclasses.replace(tx, **fields).sign(KEY)


def body_of(tx: LedgerTransaction) -> list:
    """The decoded RLP list of a signed transaction, to break one field at a time."""
    return rlp.decode(tx.encode()[1:])


def raw_of(body: list) -> bytes:
    return bytes([LEDGER_TX_TYPE]) + rlp.encode(body)


def refused(raw: bytes) -> TransactionDecodeError:
    with pytest.raises(TransactionDecodeError) as raised:
        decode_transaction(raw)
    return raised.value


# --- round trips -------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(UNSIGNED, KEYS)
def test_sign_encode_decode_round_trip(unsigned, key):
    signed = unsigned.sign(key)
    raw = signed.encode()
    decoded = decode_transaction(raw)
    assert decoded == signed
    assert decoded.encode() == raw
    assert decoded.hash == signed.hash == keccak(raw)
    assert decoded.sender() == EthAccount.from_key(key).address == address_of_key(key)
    assert 0 < decoded.s <= SECP256K1_N // 2  # low-s (EIP-2)
    # decoding slices the signing hash from the bytes; it must equal the hash of re-encoding
    assert decoded.known_signing_hash == unsigned.signing_hash()


def test_sample_transaction_recovers_its_signer():
    tx = sample_tx()
    raw = tx.encode()
    assert raw[0] == 0x51
    assert decode_transaction(raw).sender() == EthAccount.from_key(KEY).address
    assert tx.hash == keccak(raw)
    assert tx.signing_hash() != tx.hash
    assert tx.signing_hash() == keccak(b"\x51" + rlp.encode(rlp.decode(raw[1:])[:4]))


def test_decode_accepts_bytearray():
    raw = sample_tx().encode()
    assert decode_transaction(bytearray(raw)) == decode_transaction(raw)


def test_any_change_changes_the_recovered_signer():
    tx = sample_tx()
    signer = tx.sender()
    other_amount = dataclasses.replace(tx.transfers[0], amount=tx.transfers[0].amount + 1)
    for tampered in (
        dataclasses.replace(tx, nonce=tx.nonce + 1),
        dataclasses.replace(tx, chain_id=tx.chain_id + 1),
        dataclasses.replace(tx, transfers=(other_amount, tx.transfers[1])),
        dataclasses.replace(tx, references=References("E2E-2", tx.references.uetr, tx.references.message_hash)),
    ):
        with contextlib.suppress(InvalidSignatureError):
            assert tampered.sender() != signer


def test_a_different_key_signs_as_a_different_sender():
    assert sample_tx().sign(OTHER_KEY).sender() == EthAccount.from_key(OTHER_KEY).address != sample_tx().sender()


def test_high_s_signature_is_refused_by_recovery():
    tx = sample_tx()
    malleated = dataclasses.replace(tx, s=SECP256K1_N - tx.s, y_parity=1 - tx.y_parity)
    decoded = decode_transaction(malleated.encode())  # well-formed bytes ...
    with pytest.raises(InvalidSignatureError):  # ... but not an acceptable signature
        decoded.sender()


@pytest.mark.parametrize(("y_parity", "r", "s"), [(2, 1, 1), (0, 0, 1), (0, 1, 0), (0, SECP256K1_N, 1)])
def test_recover_sender_rejects_out_of_range_signatures(y_parity, r, s):
    with pytest.raises(InvalidSignatureError):
        recover_sender(bytes(32), y_parity, r, s)


@given(
    st.builds(
        StoredTransfer,
        transfer=TRANSFERS,
        block_number=st.integers(0, 2**64),
        tx_hash=st.binary(max_size=32),
        timestamp=st.integers(0, 2**40),
        status=st.sampled_from(PendingStatus),
        expires_at=st.integers(0, 2**40),
        amount_posted=st.integers(0, 2**128 - 1),
    )
)
def test_stored_transfer_codec_round_trip(stored):
    assert decode_stored_transfer(encode_stored_transfer(stored)) == stored


# --- refusals name their field -----------------------------------------------------------------


def test_wrong_type_byte_is_refused():
    raw = sample_tx().encode()
    assert refused(b"\x02" + raw[1:]).field == "type"
    assert refused(b"").field == "type"


def test_oversized_transaction_is_refused():
    assert refused(b"\x51" + bytes(MAX_TX_BYTES)).field == "transaction"


def test_non_bytes_is_refused():
    assert refused("0x51").field == "transaction"


@pytest.mark.parametrize(
    "tail",
    [
        b"",  # nothing after the type byte
        b"\xc5\x01\x02",  # list shorter than its prefix says
        b"\x81\x05",  # a single byte below 0x80 with a length prefix (non-canonical)
        b"\xb8\x01a",  # long-form length for a short string (non-canonical)
    ],
)
def test_malformed_rlp_is_refused(tail):
    assert refused(b"\x51" + tail).field == "rlp"


def test_trailing_bytes_are_refused():
    assert refused(sample_tx().encode() + b"\x00").field == "rlp"


def nested_lists(levels: int) -> bytes:
    payload = b"\xc0"
    for _ in range(levels):
        length = len(payload)
        if length < 56:
            prefix = bytes([0xC0 + length])
        else:
            size = length.to_bytes((length.bit_length() + 7) // 8, "big")
            prefix = bytes([0xF7 + len(size)]) + size
        payload = prefix + payload
    return payload


@pytest.mark.parametrize("levels", [9, 3_000, 38_000])
def test_deeply_nested_lists_are_refused_quickly(levels):
    # pyrlp decodes recursively and copies each level's payload: 128 KiB of nesting cost it
    # seconds, and a RecursionError where the recursion limit is Python's default.
    raw = b"\x51" + nested_lists(levels)
    assert len(raw) <= MAX_TX_BYTES
    started = time.perf_counter()
    error = refused(raw)
    assert time.perf_counter() - started < 0.5
    assert error.field == "rlp", str(error)
    assert "nested" in str(error)


def test_nesting_within_the_limit_reaches_the_field_checks():
    assert refused(b"\x51" + nested_lists(7)).field == "transaction"


def test_body_that_is_not_a_list_is_refused():
    assert refused(b"\x51" + rlp.encode(b"hello")).field == "transaction"


@pytest.mark.parametrize("count", [6, 8])
def test_wrong_number_of_fields_is_refused(count):
    body = body_of(sample_tx())
    body = body[:count] if count < len(body) else [*body, b""]
    error = refused(raw_of(body))
    assert error.field == "transaction"
    assert "7 fields" in str(error)


def test_transfer_with_wrong_field_count_is_refused():
    body = body_of(sample_tx())
    body[2][1] = body[2][1][:9]
    assert refused(raw_of(body)).field == "transfers[1]"


def test_references_with_wrong_field_count_is_refused():
    body = body_of(sample_tx())
    body[3] = body[3][:2]
    assert refused(raw_of(body)).field == "references"


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ((0,), "chain_id"),
        ((1,), "nonce"),
        ((2, 0, 0), "transfers[0].id"),
        ((2, 1, 3), "transfers[1].amount"),
        ((2, 1, 5), "transfers[1].code"),
        ((2, 0, 6), "transfers[0].flags"),
        ((2, 0, 8), "transfers[0].timeout_seconds"),
    ],
)
def test_integers_with_leading_zeros_are_refused(path, field):
    body = body_of(sample_tx())
    *parents, last = path
    container = body
    for index in parents:
        container = container[index]
    container[last] = b"\x00" + container[last]
    error = refused(raw_of(body))
    assert error.field == field
    assert "leading zero" in str(error)


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ((0,), bytes(9), "chain_id"),
        ((0,), [b"\x01"], "chain_id"),
        ((1,), b"\x01" * 9, "nonce"),
        ((2,), b"\x01", "transfers"),
        ((2, 0), b"\x01", "transfers[0]"),
        ((2, 0, 0), b"\x01" * 17, "transfers[0].id"),
        ((2, 0, 1), b"DE89 3704", "transfers[0].debit_account_id"),
        ((2, 0, 1), b"GL:A:B\n", "transfers[0].debit_account_id"),  # `$` alone would allow a final newline
        ((2, 0, 4), b"EUR\n", "transfers[0].currency"),
        ((2, 0, 2), b"A" * 65, "transfers[0].credit_account_id"),
        ((2, 0, 3), b"\x01" * 17, "transfers[0].amount"),
        ((2, 0, 4), b"eur", "transfers[0].currency"),
        ((2, 0, 4), b"EURO", "transfers[0].currency"),
        ((2, 0, 5), b"\x01\x00\x00", "transfers[0].code"),
        ((2, 0, 6), b"\x10", "transfers[0].flags"),
        ((2, 0, 7), b"\x01" * 17, "transfers[0].pending_id"),
        ((2, 0, 8), b"\x01" * 5, "transfers[0].timeout_seconds"),
        ((2, 1, 9), b"1,0825", "transfers[1].fx_rate"),
        ((2, 1, 9), b"1" * 33, "transfers[1].fx_rate"),
        ((3,), b"\x01", "references"),
        ((3, 0), b"caf\xc3\xa9", "references.end_to_end_id"),
        ((3, 0), b"x" * 36, "references.end_to_end_id"),
        ((3, 1), bytes(15), "references.uetr"),
        ((3, 1), bytes(17), "references.uetr"),
        ((3, 2), bytes(31), "references.message_hash"),
        ((3, 2), bytes(33), "references.message_hash"),
        ((4,), b"\x02", "y_parity"),
        ((4,), b"\x01\x00", "y_parity"),
        ((5,), bytes([1]) * 33, "r"),
        ((5,), b"\x00\x01", "r"),
        ((6,), b"\x00\x01", "s"),
        ((1,), [[[[b"\x01"]]]], "nonce"),  # nested, but not deeply enough to be refused as RLP
        ((5,), b"", "signature"),
        ((6,), b"", "signature"),
    ],
)
def test_bad_fields_are_refused_by_name(path, value, field):
    body = body_of(sample_tx())
    *parents, last = path
    container = body
    for index in parents:
        container = container[index]
    container[last] = value
    assert refused(raw_of(body)).field == field


def test_unsigned_transaction_is_refused():
    unsigned = dataclasses.replace(sample_tx(), y_parity=0, r=0, s=0)
    assert refused(unsigned.encode()).field == "signature"


def test_empty_transfer_list_is_refused():
    body = body_of(sample_tx())
    body[2] = []
    assert refused(raw_of(body)).field == "transfers"


def test_too_many_transfers_are_refused():
    one = transfer_fields(Transfer(1, "A:B", "A:C", 1, "EUR"))
    body = body_of(sample_tx())
    body[2] = [one] * MAX_TRANSFERS_PER_TX
    assert len(decode_transaction(raw_of(body)).transfers) == MAX_TRANSFERS_PER_TX
    body[2] = [one] * (MAX_TRANSFERS_PER_TX + 1)
    raw = raw_of(body)
    assert len(raw) <= MAX_TX_BYTES
    error = refused(raw)
    assert error.field == "transfers"
    assert str(MAX_TRANSFERS_PER_TX) in str(error)


# --- fuzzing -----------------------------------------------------------------------------------

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def decode_or_refuse(raw: bytes) -> None:
    """The only acceptable outcomes: a transaction (whose signer recovers or is refused) or a refusal."""
    try:
        tx = decode_transaction(raw)
    except TransactionDecodeError as error:
        assert error.field
        return
    assert tx.encode() == bytes(raw)  # one encoding per transaction: no malleable re-encodings
    with contextlib.suppress(InvalidSignatureError):
        tx.sender()


@FUZZ
@given(st.binary(max_size=400))
def test_fuzz_arbitrary_bytes(raw):
    decode_or_refuse(raw)


@FUZZ
@given(st.binary(max_size=400))
def test_fuzz_arbitrary_bytes_after_the_type_byte(tail):
    decode_or_refuse(b"\x51" + tail)


@st.composite
def mutated_encodings(draw) -> bytes:
    raw = bytearray(draw(UNSIGNED).sign(draw(st.sampled_from([KEY, OTHER_KEY]))).encode())
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]))
        position = draw(st.integers(0, len(raw) - 1)) if raw else 0
        if kind == "flip" and raw:
            raw[position] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and raw:
            raw[position] = draw(st.integers(0, 255))
        elif kind == "insert":
            raw[position:position] = draw(st.binary(min_size=1, max_size=4))
        elif kind == "delete" and raw:
            del raw[position]
        elif kind == "truncate":
            del raw[position:]
    return bytes(raw)


@FUZZ
@given(mutated_encodings())
def test_fuzz_mutated_valid_encodings(raw):
    decode_or_refuse(raw)


@FUZZ
@given(st.recursive(st.binary(max_size=40), lambda inner: st.lists(inner, max_size=8), max_leaves=40))
def test_fuzz_well_formed_rlp_of_any_shape(item):
    decode_or_refuse(b"\x51" + rlp_encode.encode(item))


@FUZZ
@given(UNSIGNED, st.data())
def test_fuzz_one_field_replaced_by_anything(unsigned, data):
    body = body_of(unsigned.sign(KEY))
    paths = [(i,) for i in range(7)] + [(2, 0, j) for j in range(10)] + [(3, j) for j in range(3)]
    path = data.draw(st.sampled_from(paths))
    replacement = data.draw(st.one_of(st.binary(max_size=70), st.lists(st.binary(max_size=4), max_size=3)))
    *parents, last = path
    container = body
    for index in parents:
        container = container[index]
    container[last] = replacement
    decode_or_refuse(raw_of(body))


def test_int_to_bytes_is_minimal():
    assert int_to_bytes(0) == b""
    assert int_to_bytes(1) == b"\x01"
    assert int_to_bytes(256) == b"\x01\x00"
