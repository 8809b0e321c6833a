"""node/pii/request.py: a put request round-trips, names its signer, and any bytes a peer or an RPC
client sends give a request or a RequestError naming the field, never another exception."""

from __future__ import annotations

import contextlib
import copy
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from gateways.personal_data import open_envelope, seal
from ledger.hashing import keccak
from ledger.tx import address_of_key
from node.p2p import wire
from node.pii.request import REQUEST_BYTES_MAX, RequestError, parse_request, parse_request_bytes, sign_request

KEY = bytes.fromhex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
OTHER = keccak(b"another signer")
CHAIN_ID = 1337
ACCOUNT = "DE89370400440532013000"
BANKS = {bank: X25519PrivateKey.generate() for bank in ("BANKAAAA", "BANKBBBB")}


def request(message: bytes = b"an MT103", fields: dict | None = None) -> dict:
    envelope = seal(fields or {"/debtor/name": "Dave", "/remittance": "invoice 7"}, keccak(message),
                    {b: k.public_key() for b, k in BANKS.items()})  # fmt: skip
    return sign_request(envelope, ACCOUNT, CHAIN_ID, KEY)


def test_a_signed_request_round_trips_and_names_its_signer():
    sent = request()
    parsed = parse_request(json.loads(json.dumps(sent)))
    assert parsed.signer(CHAIN_ID) == address_of_key(KEY)
    assert parsed.signer(CHAIN_ID + 1) != address_of_key(KEY)  # bound to the chain
    assert parse_request_bytes(parsed.canonical()) == parsed
    assert parsed.message_hash == keccak(b"an MT103") and parsed.banks == ("BANKAAAA", "BANKBBBB")
    assert open_envelope(parsed.envelope, "BANKBBBB", BANKS["BANKBBBB"])["/debtor/name"] == "Dave"
    assert b"Dave" not in parsed.canonical()
    framed = wire.decode_message(wire.encode(wire.PersonalDataMessage(parsed.canonical())))
    assert parse_request_bytes(framed.request) == parsed  # type: ignore[union-attr]


def test_an_altered_request_no_longer_names_the_signer():
    for alter in (
        lambda r: r.__setitem__("account", "DE02120300000000202051"),  # another bank's account
        lambda r: r["envelope"]["keys"].pop("BANKBBBB"),  # a party dropped
        lambda r: r["envelope"].__setitem__("message_hash", keccak(b"other").hex()),  # moved to another payment
    ):
        altered = copy.deepcopy(request())
        alter(altered)
        assert parse_request(altered).signer(CHAIN_ID) != address_of_key(KEY)
    resigned = sign_request(request()["envelope"], ACCOUNT, CHAIN_ID, OTHER)
    assert parse_request(resigned).signer(CHAIN_ID) == address_of_key(OTHER)


def _with(path: list, value: object) -> dict:
    altered = copy.deepcopy(request())
    target = altered
    for key in path[:-1]:
        target = target[key] if not callable(key) else key(target)
    target[path[-1]] = value
    return altered


def _first(d: dict) -> dict:
    return d[next(iter(d))]


@pytest.mark.parametrize(
    ("bad", "names"),
    [
        ([], "request must be an object"),
        ({"envelope": {}, "account": ACCOUNT}, "exactly the members account, envelope, signature"),
        (_with(["account"], ""), "account must be"),
        (_with(["account"], "x" * 65), "account must be"),
        (_with(["signature"], "0x00"), "signature must be 0x and 130 hex digits"),
        (_with(["envelope", "version"], 2), "envelope.version must be 1"),
        (_with(["envelope", "version"], True), "envelope.version must be 1"),
        (_with(["envelope", "message_hash"], "AB" * 32), "message_hash must be 64 lower-case hex"),
        (_with(["envelope", "fields"], {}), "envelope.fields must be an object of 1..1000"),
        (_with(["envelope", "fields", "relative"], {"nonce": "", "ct": ""}), "path 'relative' starts with /"),
        (_with(["envelope", "fields", _first, "nonce"], "AAAA"), r"nonce must be 12..12 bytes, not 3"),
        (_with(["envelope", "fields", _first, "ct"], "!!"), r"ct is not base64"),
        (_with(["envelope", "keys"], {}), "envelope.keys must wrap the data key for 1..16 banks"),
        (_with(["envelope", "keys", "bad bank"], {}), "bank 'bad bank'"),
        (_with(["envelope", "keys", _first, "wrapped"], "A" * 80), r"wrapped must be base64 of 48..48 bytes"),
        (_with(["envelope", "keys", _first, "extra"], 1), "exactly the members epk, nonce, wrapped"),
    ],
)
def test_malformed_requests_name_what_is_wrong(bad, names):
    with pytest.raises(RequestError, match=names):
        parse_request(bad)


def test_size_and_nesting_are_bounded_before_anything_else():
    with pytest.raises(RequestError, match="exceeds"):
        parse_request_bytes(b" " * (REQUEST_BYTES_MAX + 1))
    with pytest.raises(RequestError, match="nested deeper than 8"):
        parse_request_bytes(b"[" * 100_000 + b"]" * 100_000)  # the C parser would recurse until it crashed
    with pytest.raises(RequestError, match="not JSON"):
        parse_request_bytes(b'{"a": "[[[[[[[[[[[[", "b": ')  # brackets inside strings do not count
    with pytest.raises(RequestError, match="not JSON"):
        parse_request_bytes(b'"' + b'\\"' * 300_000)  # escaped quotes: the depth scan stays linear
    big = {f"/f{i}": "x" * 60_000 for i in range(20)}  # each field fits; the whole does not
    with pytest.raises(RequestError, match="exceeds"):
        parse_request(request(fields=big))


def _json_values() -> st.SearchStrategy:
    leaves = st.none() | st.booleans() | st.integers() | st.text(max_size=20) | st.floats(allow_nan=False)

    def nest(inner: st.SearchStrategy) -> st.SearchStrategy:
        return st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)

    return st.recursive(leaves, nest, max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_give_a_request_or_a_request_error(data):
    with contextlib.suppress(RequestError):
        parse_request_bytes(data)


@settings(max_examples=300, deadline=None)
@given(st.data(), _json_values())
def test_a_valid_request_with_any_member_replaced_parses_or_is_refused_by_name(data, value):
    altered = copy.deepcopy(request())
    target = altered
    while True:  # walk down to a random member, then replace it with any JSON value
        key = data.draw(st.sampled_from(sorted(target)))
        if not isinstance(target[key], dict) or data.draw(st.booleans()):
            target[key] = value
            break
        target = target[key]
    with contextlib.suppress(RequestError):
        parse_request(json.loads(json.dumps(altered))).canonical()


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_corrupted_frames_decode_or_fail_cleanly(data):
    frame = bytearray(wire.encode(wire.PersonalDataMessage(parse_request(request()).canonical())))
    for _ in range(data.draw(st.integers(1, 8))):
        frame[data.draw(st.integers(0, len(frame) - 1))] = data.draw(st.integers(0, 255))
    try:
        message = wire.decode_message(bytes(frame))
    except wire.WireError:
        return
    if isinstance(message, wire.PersonalDataMessage):
        with contextlib.suppress(RequestError):
            parse_request_bytes(message.request)
