"""The request that hands a sealed envelope to a node: its shape, its bounds and its signature.

    {"envelope": {version, message_hash, fields: {path: {nonce, ct}}, keys: {bank: {epk, nonce, wrapped}}},
     "account": the ledger account the payment debits,
     "signature": 0x r || s || v over `signing_hash`}

The same bytes arrive over JSON-RPC (from a gateway) and in a P2P frame (from a peer), so one
parser bounds and checks both: every size, every type, every base64 length. The node never sees
the data key or clear text; it checks only that the envelope is well formed, which payment it
belongs to (the message hash the chain records), and who vouches for it.

Why a signature and not an RPC credential: the right to hand in personal data belongs to the
bank serving the debited account, i.e. a gateway or operator role whose namespace covers that
account (ledger/permissions.py `personal_data.put`). Role grants and namespaces live on chain; an
API key or JWT is known to one node only. A signature by the key holding the role (the same key
that signs the payment) can be checked by every node against its own copy of the chain, so a
peer relaying the envelope cannot forge or widen it, and no node has to trust another's login.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass

import coincurve

from ledger.hashing import keccak
from ledger.tx import InvalidSignatureError, recover_sender

REQUEST_BYTES_MAX = 1024 * 1024  # one envelope; well inside a P2P frame (4 MiB) and an RPC body
FIELDS_MAX = 1000
PATH_BYTES_MAX = 256
FIELD_CIPHERTEXT_BYTES_MAX = 64 * 1024 + 16  # gateways/personal_data.py FIELD_BYTES_MAX + the GCM tag
BANKS_MAX = 16
ACCOUNT_BYTES_MAX = 64
BANK = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
ACCOUNT = re.compile(r"^[\x21-\x7e]{1,64}$")
HEX32 = re.compile(r"^[0-9a-f]{64}$")
DOMAIN = b"qenex-personal-data-put\x00"
DEPTH_MAX = 8  # request > envelope > fields > field > member: 4 levels are used
# Strings (skipped whole; an unclosed one runs to the end, so the scan stays linear) and brackets.
_JSON_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"?|[\[\]{}]', re.DOTALL)


class RequestError(ValueError):
    """A put request that is malformed or not vouched for; the message names the field."""


@dataclass(frozen=True, slots=True)
class PutRequest:
    envelope: dict
    account: str
    signature: bytes

    @property
    def message_hash(self) -> bytes:
        return bytes.fromhex(self.envelope["message_hash"])

    @property
    def banks(self) -> tuple[str, ...]:
        return tuple(sorted(self.envelope["keys"]))

    def canonical(self) -> bytes:
        """The bytes stored and relayed: one encoding per request, so equal requests compare equal."""
        signature = "0x" + self.signature.hex()
        return _canonical({"envelope": self.envelope, "account": self.account, "signature": signature})

    def signer(self, chain_id: int) -> str:
        """The checksum address that signed this request for `chain_id`; RequestError if none does."""
        v = self.signature[64]
        try:
            return recover_sender(
                signing_hash(chain_id, self.envelope, self.account),
                v - 27 if v >= 27 else v,
                int.from_bytes(self.signature[:32], "big"),
                int.from_bytes(self.signature[32:64], "big"),
            )
        except InvalidSignatureError as exc:
            raise RequestError(f"signature: {exc}") from None


def _canonical(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def signing_hash(chain_id: int, envelope: dict, account: str) -> bytes:
    """What the gateway's key signs: chain, payment (message hash), the exact envelope, the account."""
    return keccak(DOMAIN + chain_id.to_bytes(8, "big") + bytes.fromhex(envelope["message_hash"])
                  + keccak(_canonical(envelope)) + account.encode())  # fmt: skip


def sign_request(envelope: dict, account: str, chain_id: int, private_key: bytes) -> dict:
    """The JSON request a gateway sends with `qenex_putPersonalData` (checked by `parse_request`)."""
    signature = coincurve.PrivateKey(private_key).sign_recoverable(
        signing_hash(chain_id, envelope, account), hasher=None
    )
    return {"envelope": envelope, "account": account, "signature": "0x" + signature.hex()}


# --- parsing -------------------------------------------------------------------------------------


def parse_request_bytes(data: bytes) -> PutRequest:
    """A request from a peer's frame: bounded before it is parsed."""
    if len(data) > REQUEST_BYTES_MAX:
        raise RequestError(f"request of {len(data)} bytes exceeds {REQUEST_BYTES_MAX}")
    _check_depth(data)
    try:
        value = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise RequestError(f"not JSON: {str(exc)[:80]}") from None
    return parse_request(value)


def _check_depth(data: bytes) -> None:
    """Refuse JSON nested deeper than a request ever is before the parser recurses into it."""
    depth = 0
    for token in _JSON_TOKENS.finditer(data):
        bracket = token.group()
        if bracket in (b"[", b"{"):
            depth += 1
            if depth > DEPTH_MAX:
                raise RequestError(f"JSON nested deeper than {DEPTH_MAX}")
        elif bracket in (b"]", b"}"):
            depth -= 1


def parse_request(value: object) -> PutRequest:
    """A request from JSON-RPC (already parsed within the RPC limits) or from `parse_request_bytes`."""
    request = _object(value, "request", {"envelope", "account", "signature"})
    account = request["account"]
    if not isinstance(account, str) or not ACCOUNT.fullmatch(account):
        raise RequestError(f"account must be a ledger account id of 1..{ACCOUNT_BYTES_MAX} printable characters")
    signature = _hex_bytes(request["signature"], "signature", 65)
    envelope = _envelope(request["envelope"])
    parsed = PutRequest(envelope, account, signature)
    if len(parsed.canonical()) > REQUEST_BYTES_MAX:
        raise RequestError(f"request exceeds {REQUEST_BYTES_MAX} bytes")
    return parsed


def _envelope(value: object) -> dict:
    envelope = _object(value, "envelope", {"version", "message_hash", "fields", "keys"})
    if envelope["version"] != 1 or isinstance(envelope["version"], bool):
        raise RequestError("envelope.version must be 1")
    message_hash = envelope["message_hash"]
    if not isinstance(message_hash, str) or not HEX32.fullmatch(message_hash):
        raise RequestError("envelope.message_hash must be 64 lower-case hex digits (the message's keccak-256)")
    fields = envelope["fields"]
    if not isinstance(fields, dict) or not 1 <= len(fields) <= FIELDS_MAX:
        raise RequestError(f"envelope.fields must be an object of 1..{FIELDS_MAX} sealed fields")
    for path, item in fields.items():
        if not path.startswith("/") or len(path.encode()) > PATH_BYTES_MAX:
            raise RequestError(f"envelope.fields: path {path[:40]!r} starts with / (<= {PATH_BYTES_MAX} bytes)")
        where = f"envelope.fields[{path[:40]}]"
        sealed = _object(item, where, {"nonce", "ct"})
        _b64(sealed["nonce"], f"{where}.nonce", 12, 12)
        _b64(sealed["ct"], f"{where}.ct", 17, FIELD_CIPHERTEXT_BYTES_MAX)
    keys = envelope["keys"]
    if not isinstance(keys, dict) or not 1 <= len(keys) <= BANKS_MAX:
        raise RequestError(f"envelope.keys must wrap the data key for 1..{BANKS_MAX} banks")
    for bank, item in keys.items():
        if not BANK.fullmatch(bank):
            raise RequestError(f"envelope.keys: bank {bank[:70]!r} must be 1..64 letters, digits, . _ -")
        where = f"envelope.keys[{bank}]"
        wrap = _object(item, where, {"epk", "nonce", "wrapped"})
        _b64(wrap["epk"], f"{where}.epk", 32, 32)
        _b64(wrap["nonce"], f"{where}.nonce", 12, 12)
        _b64(wrap["wrapped"], f"{where}.wrapped", 48, 48)  # a 32-byte key + the GCM tag
    return envelope


def _object(value: object, where: str, keys: set[str]) -> dict:
    if not isinstance(value, dict):
        raise RequestError(f"{where} must be an object")
    if set(value) != keys:
        raise RequestError(f"{where} must have exactly the members {', '.join(sorted(keys))}")
    return value


def _b64(value: object, where: str, size_min: int, size_max: int) -> bytes:
    if not isinstance(value, str) or len(value) > (size_max + 2) // 3 * 4:
        raise RequestError(f"{where} must be base64 of {size_min}..{size_max} bytes")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise RequestError(f"{where} is not base64") from None
    if not size_min <= len(raw) <= size_max:
        raise RequestError(f"{where} must be {size_min}..{size_max} bytes, not {len(raw)}")
    return raw


def _hex_bytes(value: object, where: str, size: int) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x") or len(value) != 2 + 2 * size:
        raise RequestError(f"{where} must be 0x and {2 * size} hex digits")
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise RequestError(f"{where} is not hex") from None
