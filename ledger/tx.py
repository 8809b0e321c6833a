"""The ledger transaction: an EIP-2718 typed envelope carrying transfers, signed with secp256k1.

    raw  = 0x51 || rlp([chain_id, nonce, transfers, references, y_parity, r, s])
    hash = keccak256(raw)                      (the transaction hash, as for Ethereum types)
    sig  = secp256k1 over keccak256(0x51 || rlp([chain_id, nonce, transfers, references]))

The same keys sign Ethereum transactions, so eth-account keys and keystores work for both,
and wallets send it through eth_sendRawTransaction like any typed transaction. 0x51 ('Q') is
outside the types Ethereum has assigned (0x00-0x04).

Decoding is the first thing the node does with bytes from the network, so it is bounded (size,
number of transfers, every field's length) and every refusal names the field at fault.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import coincurve
from eth_utils import to_checksum_address

from ledger import rlp_decode, rlp_encode
from ledger.codec import checksum_address, int_to_bytes, transfer_fields
from ledger.hashing import keccak
from ledger.transfer import Transfer, TransferFlags

LEDGER_TX_TYPE = 0x51
ACTION_TX_TYPE = 0x52  # the same envelope carrying one chain action (governance) instead of transfers
MAX_ACTION_PAYLOAD_BYTES = 16 * 1024
MAX_TX_BYTES = 128 * 1024
MAX_TRANSFERS_PER_TX = 1024
MAX_ACCOUNT_ID_BYTES = 64
MAX_END_TO_END_ID = 35  # ISO 20022 Max35Text
MAX_RLP_DEPTH = 8  # a transaction nests 3 deep (body > transfers > transfer); the rest is slack for error messages
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_ASCII_ID = re.compile(rb"^[A-Za-z0-9:_\-.]*$")
_CURRENCY = re.compile(rb"^([A-Z]{3})?$")
_RATE = re.compile(rb"^[0-9.]*$")
_E2E = re.compile(rb"^[\x20-\x7e]*$")


class TransactionDecodeError(ValueError):
    """Bytes that are not a well-formed ledger transaction; `field` says where."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name


class InvalidSignatureError(ValueError):
    """The signature is missing, malformed, not low-s, or does not recover a key."""


@dataclass(frozen=True, slots=True)
class References:
    """Where the payment came from: ISO 20022 end-to-end id, SWIFT gpi UETR, gateway message hash."""

    end_to_end_id: str = ""
    uetr: bytes = b""  # 16 bytes (a UUID) or empty
    message_hash: bytes = b""  # 32 bytes or empty

    def fields(self) -> list:
        return [self.end_to_end_id.encode(), self.uetr, self.message_hash]


@dataclass(frozen=True, slots=True)
class Action:
    """A chain action (validator-set proposal, approval, equivocation evidence): a kind and an RLP
    payload that node.governance decodes, bounded, when it applies the action."""

    kind: int
    payload: bytes

    def fields(self) -> list:
        return [int_to_bytes(self.kind), self.payload]


@dataclass(frozen=True, slots=True)
class LedgerTransaction:
    chain_id: int
    nonce: int
    transfers: tuple[Transfer, ...]
    references: References = field(default_factory=References)
    y_parity: int = 0
    r: int = 0
    s: int = 0
    # Set by decode_transaction from the received bytes, so admission does not re-encode.
    known_signing_hash: bytes = field(default=b"", compare=False, repr=False)
    action: Action | None = None  # type 0x52: an action instead of transfers

    @property
    def tx_type(self) -> int:
        return ACTION_TX_TYPE if self.action is not None else LEDGER_TX_TYPE

    def _unsigned_fields(self) -> list:
        return [
            int_to_bytes(self.chain_id),
            int_to_bytes(self.nonce),
            self.action.fields() if self.action is not None else [transfer_fields(t) for t in self.transfers],
            self.references.fields(),
        ]

    def signing_hash(self) -> bytes:
        if self.known_signing_hash:
            return self.known_signing_hash
        return keccak(bytes([self.tx_type]) + rlp_encode.encode(self._unsigned_fields()))

    def sign(self, private_key: bytes) -> LedgerTransaction:
        """A copy signed by `private_key` (32 bytes)."""
        signature = coincurve.PrivateKey(private_key).sign_recoverable(self.signing_hash(), hasher=None)
        return LedgerTransaction(
            self.chain_id,
            self.nonce,
            self.transfers,
            self.references,
            y_parity=signature[64],
            r=int.from_bytes(signature[:32], "big"),
            s=int.from_bytes(signature[32:64], "big"),
            action=self.action,
        )

    def encode(self) -> bytes:
        body = [*self._unsigned_fields(), int_to_bytes(self.y_parity), int_to_bytes(self.r), int_to_bytes(self.s)]
        return bytes([self.tx_type]) + rlp_encode.encode(body)

    @property
    def hash(self) -> bytes:
        return keccak(self.encode())

    def sender(self) -> str:
        """The checksummed address that signed this transaction."""
        return recover_sender(self.signing_hash(), self.y_parity, self.r, self.s)


def recover_sender(message_hash: bytes, y_parity: int, r: int, s: int) -> str:
    if y_parity not in (0, 1):
        raise InvalidSignatureError(f"y_parity must be 0 or 1, got {y_parity}")
    if not 0 < r < SECP256K1_N or not 0 < s <= SECP256K1_N // 2:
        raise InvalidSignatureError("signature r/s out of range (s must be in the lower half, EIP-2)")
    signature = r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([y_parity])
    try:
        public = coincurve.PublicKey.from_signature_and_message(signature, message_hash, hasher=None)
    except Exception as exc:  # coincurve raises a bare Exception for unrecoverable signatures
        raise InvalidSignatureError(f"signature does not recover a public key: {exc}") from None
    return checksum_address(keccak(public.format(compressed=False)[1:])[-20:])


def address_of_key(private_key: bytes) -> str:
    public = coincurve.PrivateKey(private_key).public_key.format(compressed=False)
    return to_checksum_address(keccak(public[1:])[-20:])


# --- decoding --------------------------------------------------------------------------------


def decode_transaction(raw: bytes) -> LedgerTransaction:
    """Parse a signed ledger transaction; raises TransactionDecodeError naming the bad field."""
    if not isinstance(raw, bytes | bytearray):
        raise TransactionDecodeError("transaction", "must be bytes")
    if len(raw) > MAX_TX_BYTES:
        raise TransactionDecodeError("transaction", f"{len(raw)} bytes exceeds the limit of {MAX_TX_BYTES}")
    if not raw:
        raise TransactionDecodeError("type", "empty transaction")
    if raw[0] not in (LEDGER_TX_TYPE, ACTION_TX_TYPE):
        raise TransactionDecodeError(
            "type", f"type byte {raw[0]:#04x} is neither {LEDGER_TX_TYPE:#04x} nor {ACTION_TX_TYPE:#04x}"
        )
    try:
        body = rlp_decode.decode(bytes(raw[1:]), MAX_RLP_DEPTH)
    except rlp_decode.RlpDecodingError as exc:
        raise TransactionDecodeError("rlp", f"malformed RLP: {exc}") from None
    items = _list(body, "transaction", 7)
    chain_id = _uint(items[0], "chain_id", 8)
    nonce = _uint(items[1], "nonce", 8)
    action = None
    transfers: tuple[Transfer, ...] = ()
    if raw[0] == ACTION_TX_TYPE:
        fields = _list(items[2], "action", 2)
        payload = _bytes(fields[1], "action.payload", MAX_ACTION_PAYLOAD_BYTES)
        action = Action(_uint(fields[0], "action.kind", 1), payload)
    else:
        transfer_items = items[2]
        if not isinstance(transfer_items, list):
            raise TransactionDecodeError("transfers", "must be a list")
        if not 1 <= len(transfer_items) <= MAX_TRANSFERS_PER_TX:
            raise TransactionDecodeError(
                "transfers", f"must hold 1..{MAX_TRANSFERS_PER_TX} transfers, not {len(transfer_items)}"
            )
        transfers = tuple(_transfer(item, f"transfers[{i}]") for i, item in enumerate(transfer_items))
    references = _references(items[3])
    y_parity = _uint(items[4], "y_parity", 1)
    r = _uint(items[5], "r", 32)
    s = _uint(items[6], "s", 32)
    if y_parity > 1:
        raise TransactionDecodeError("y_parity", "must be 0 or 1")
    if r == 0 or s == 0:
        raise TransactionDecodeError("signature", "the transaction is not signed")
    signing_hash = _signing_hash_of(raw)
    return LedgerTransaction(
        chain_id, nonce, transfers, references, y_parity, r, s, known_signing_hash=signing_hash, action=action
    )


def _signing_hash_of(raw: bytes) -> bytes:
    """keccak(type || rlp(first four fields)) sliced from canonical, already validated bytes.

    Strict decoding guarantees re-encoding the fields gives these very bytes, so slicing is
    the same hash as LedgerTransaction.signing_hash() computes, without the encoding work.
    """
    body = memoryview(raw)[1:]
    start = rlp_decode.payload_span(body, 0)[0]
    position = start
    for _ in range(4):
        position = rlp_decode.payload_span(body, position)[1]
    unsigned = bytes(body[start:position])
    return keccak(bytes([raw[0]]) + rlp_encode.list_prefix(len(unsigned)) + unsigned)


def _list(item: object, name: str, length: int) -> list:
    if not isinstance(item, list):
        raise TransactionDecodeError(name, "must be a list")
    if len(item) != length:
        raise TransactionDecodeError(name, f"must have {length} fields, not {len(item)}")
    return item


def _bytes(item: object, name: str, max_length: int) -> bytes:
    if not isinstance(item, bytes):
        raise TransactionDecodeError(name, "must be a byte string, not a list")
    if len(item) > max_length:
        raise TransactionDecodeError(name, f"longer than {max_length} bytes")
    return item


def _uint(item: object, name: str, max_bytes: int) -> int:
    data = _bytes(item, name, max_bytes)
    if data[:1] == b"\x00":
        raise TransactionDecodeError(name, "integer has leading zero bytes (not canonical RLP)")
    return int.from_bytes(data, "big")


def _text(item: object, name: str, max_length: int, pattern: re.Pattern[bytes]) -> str:
    data = _bytes(item, name, max_length)
    if not pattern.fullmatch(data):
        raise TransactionDecodeError(name, f"contains characters outside {pattern.pattern!r}")
    return data.decode("ascii")


# (field, max bytes, text pattern or None for a canonical unsigned integer), in wire order
_TRANSFER_WIRE = (
    ("id", 16, None),
    ("debit_account_id", MAX_ACCOUNT_ID_BYTES, _ASCII_ID),
    ("credit_account_id", MAX_ACCOUNT_ID_BYTES, _ASCII_ID),
    ("amount", 16, None),
    ("currency", 3, _CURRENCY),
    ("code", 2, None),
    ("flags", 2, None),
    ("pending_id", 16, None),
    ("timeout_seconds", 4, None),
    ("fx_rate", 32, _RATE),
)
_KNOWN_FLAG_BITS = int(
    TransferFlags.LINKED | TransferFlags.PENDING | TransferFlags.POST_PENDING | TransferFlags.VOID_PENDING
)


def _transfer(item: object, name: str) -> Transfer:
    """Fast path for well-formed transfers; anything unusual takes `_transfer_checked`, which
    names the exact field at fault. Both accept exactly the same inputs."""
    if type(item) is not list or len(item) != 10:
        return _transfer_checked(item, name)
    values: list[object] = []
    for value, (_, max_length, pattern) in zip(item, _TRANSFER_WIRE, strict=True):
        if type(value) is not bytes or len(value) > max_length:
            return _transfer_checked(item, name)
        if pattern is None:
            if value[:1] == b"\x00":
                return _transfer_checked(item, name)
            values.append(int.from_bytes(value, "big"))
        elif pattern.fullmatch(value):
            values.append(value.decode("ascii"))
        else:
            return _transfer_checked(item, name)
    flags = values[6]
    if flags & ~_KNOWN_FLAG_BITS:  # type: ignore[operator]
        return _transfer_checked(item, name)
    values[6] = TransferFlags(flags)
    return Transfer(*values)  # type: ignore[arg-type]


def _transfer_checked(item: object, name: str) -> Transfer:
    f = _list(item, name, 10)
    flags = _uint(f[6], f"{name}.flags", 2)
    if flags & ~_KNOWN_FLAG_BITS:
        raise TransactionDecodeError(f"{name}.flags", f"unknown flag bits {flags:#x}")
    return Transfer(
        id=_uint(f[0], f"{name}.id", 16),
        debit_account_id=_text(f[1], f"{name}.debit_account_id", MAX_ACCOUNT_ID_BYTES, _ASCII_ID),
        credit_account_id=_text(f[2], f"{name}.credit_account_id", MAX_ACCOUNT_ID_BYTES, _ASCII_ID),
        amount=_uint(f[3], f"{name}.amount", 16),
        currency=_text(f[4], f"{name}.currency", 3, _CURRENCY),
        code=_uint(f[5], f"{name}.code", 2),
        flags=TransferFlags(flags),
        pending_id=_uint(f[7], f"{name}.pending_id", 16),
        timeout_seconds=_uint(f[8], f"{name}.timeout_seconds", 4),
        fx_rate=_text(f[9], f"{name}.fx_rate", 32, _RATE),
    )


def _references(item: object) -> References:
    f = _list(item, "references", 3)
    uetr = _bytes(f[1], "references.uetr", 16)
    if uetr and len(uetr) != 16:
        raise TransactionDecodeError("references.uetr", "must be 16 bytes (a UUID) or empty")
    message_hash = _bytes(f[2], "references.message_hash", 32)
    if message_hash and len(message_hash) != 32:
        raise TransactionDecodeError("references.message_hash", "must be 32 bytes or empty")
    return References(
        end_to_end_id=_text(f[0], "references.end_to_end_id", MAX_END_TO_END_ID, _E2E),
        uetr=uetr,
        message_hash=message_hash,
    )
