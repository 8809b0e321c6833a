"""The genesis file: its fields, their validation, and the ledger records it creates.

A genesis file is JSON (see docs/genesis.md). Balances are in integer minor units (JSON
numbers or digit strings, never decimals), and every opening balance is booked against the
issuance account of its currency, so each currency sums to zero from block 0.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from eth_utils import to_checksum_address

from contracts.evm.genesis import EvmGenesis, EvmGenesisError, parse_evm_genesis
from ledger.account import FLAG_NAMES, Account, AccountFlags, AccountStatus, validate_account_id
from ledger.authz import RoleGrant
from ledger.currency import AMOUNT_MAX, Currency
from ledger.hashing import keccak
from ledger.permissions import parse_governance
from ledger.transfer import Transfer


class GenesisError(ValueError):
    """The genesis file is malformed; the message names the field."""


@dataclass(frozen=True, slots=True)
class BlockParams:
    interval_ms: int = 1000
    max_transactions: int = 10_000
    max_bytes: int = 16 * 1024 * 1024
    gas_limit: int = 30_000_000
    base_fee_per_gas: int = 0
    empty_blocks: bool = False
    expiries_max: int = 10_000  # pending-transfer expiries processed per block


@dataclass(frozen=True, slots=True)
class P2PIdentity:
    """A node's TLS certificate and the signature binding it to the node's secp256k1 key: the
    transport trusts exactly these certificates (consensus.transport)."""

    certificate_pem: bytes
    binding_signature: bytes  # 65 bytes, over consensus.transport.IdentityBinding.message


@dataclass(frozen=True, slots=True)
class Validator:
    name: str
    address: str
    public_key: bytes  # 64-byte uncompressed secp256k1 point (no 0x04 prefix)
    power: int = 1
    p2p: P2PIdentity | None = None  # None: a one-validator chain with no peers


@dataclass(frozen=True, slots=True)
class FullNode:
    """A registered non-validator node: it may connect, follow the chain and serve RPC, never vote."""

    name: str
    address: str
    p2p: P2PIdentity


@dataclass(frozen=True, slots=True)
class OpeningBalance:
    account_id: str
    amount: int


@dataclass(frozen=True, slots=True)
class ScreeningParams:
    """Fraud screening (docs/screening.md): the pinned model and the review-queue timings.

    Absent from genesis: no screening. Present: a node screens every ledger transaction with
    the model whose manifest hashes to `model_sha256`, and refuses to run with any other.
    """

    model_sha256: str
    label_delay_seconds: int = 7 * 86400
    hold_expiry_seconds: int = 86400
    max_held: int = 10_000


@dataclass(frozen=True)
class Genesis:
    chain_id: int
    genesis_time: int
    block: BlockParams
    currencies: tuple[Currency, ...]
    validators: tuple[Validator, ...]
    roles: tuple[RoleGrant, ...]
    issuance: dict[str, str]  # currency -> issuance account id
    accounts: tuple[Account, ...]
    balances: tuple[OpeningBalance, ...]
    evm: EvmGenesis = field(default_factory=EvmGenesis)  # native coin allocation, fee settings
    full_nodes: tuple[FullNode, ...] = ()
    raw: dict = field(default_factory=dict, compare=False)
    screening: ScreeningParams | None = None

    @property
    def exponents(self) -> dict[str, int]:
        return {c.code: c.exponent for c in self.currencies}

    @property
    def hash(self) -> bytes:
        return keccak(canonical_json(self.raw))

    def opening_transfers(self) -> list[Transfer]:
        """The transfers that fund genesis accounts from their currency's issuance account."""
        by_id = {a.id: a for a in self.accounts}
        transfers = []
        for opening in self.balances:
            account = by_id[opening.account_id]
            transfer_id = int.from_bytes(keccak(b"qenex-genesis-opening:" + account.id.encode())[:16], "big")
            transfers.append(
                Transfer(
                    id=transfer_id,
                    debit_account_id=self.issuance[account.currency],
                    credit_account_id=account.id,
                    amount=opening.amount,
                    currency=account.currency,
                    code=1,
                )
            )
        return transfers


def canonical_json(data: dict) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


def load_genesis(path: Path) -> Genesis:
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise GenesisError(f"no genesis file at {path}; create one with `qenex genesis init --home DIR`") from None
    except json.JSONDecodeError as exc:
        raise GenesisError(f"{path} is not valid JSON: {exc}") from None
    return parse_genesis(data)


def _p2p_identity(entry: dict, address: str, chain_id: int, where: str) -> P2PIdentity:
    """The node's TLS certificate must be signed over by its own key for this chain."""
    from consensus.transport import IdentityBinding, certificate_fingerprint

    pem = _get(entry, "p2p_certificate", str, where).encode()
    try:
        fingerprint = certificate_fingerprint(pem)
        signature = bytes.fromhex(_get(entry, "p2p_binding", str, where).removeprefix("0x"))
    except ValueError as exc:
        raise GenesisError(f"{where}.p2p_certificate/p2p_binding: {exc}") from None
    if not IdentityBinding(address, fingerprint, signature).verify(chain_id):
        raise GenesisError(f"{where}.p2p_binding is not {address}'s signature over its certificate for this chain")
    return P2PIdentity(pem, signature)


def _get(data: dict, key: str, kind: type, where: str = "genesis") -> object:
    if key not in data:
        raise GenesisError(f"{where}.{key} is missing")
    value = data[key]
    if kind is int and isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise GenesisError(f"{where}.{key} must be {kind.__name__}, got {type(value).__name__}")
    return value


def _minor(value: object, where: str) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= AMOUNT_MAX:
        raise GenesisError(f"{where} must be an integer of minor units in 0..2^128-1 (not a decimal)")
    return value


def _screening(data: object) -> ScreeningParams | None:
    if data is None:
        return None
    where = "genesis.screening"
    if not isinstance(data, dict):
        raise GenesisError(f"{where} must be an object")
    known = set(ScreeningParams.__slots__)
    unknown = set(data) - known
    if unknown:
        raise GenesisError(f"{where} has unknown fields {sorted(unknown)}; known: {sorted(known)}")
    digest = _get(data, "model_sha256", str, where).lower().removeprefix("0x")
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise GenesisError(f"{where}.model_sha256 must be 64 hex digits (the SHA-256 `qenex fraud train` prints)")
    values = {}
    for name, low, high in (
        ("label_delay_seconds", 0, 366 * 86400),
        ("hold_expiry_seconds", 1, 366 * 86400),
        ("max_held", 1, 1_000_000),
    ):
        if name in data:
            value = _get(data, name, int, where)
            if not low <= value <= high:
                raise GenesisError(f"{where}.{name} must be in {low}..{high}")
            values[name] = value
    return ScreeningParams(digest, **values)


def parse_genesis(data: dict) -> Genesis:
    if not isinstance(data, dict):
        raise GenesisError("genesis must be a JSON object")
    chain_id = _get(data, "chain_id", int)
    if not 0 < chain_id < 2**63:
        raise GenesisError("genesis.chain_id must be in 1..2^63-1")
    genesis_time = _get(data, "genesis_time", int)
    block_data = data.get("block", {})
    known = set(BlockParams.__dataclass_fields__)
    unknown = set(block_data) - known
    if unknown:
        raise GenesisError(f"genesis.block has unknown fields {sorted(unknown)}; known: {sorted(known)}")
    block = BlockParams(**block_data)
    if not 1 <= block.interval_ms <= 600_000 or not 1 <= block.max_transactions <= 100_000:
        raise GenesisError("genesis.block.interval_ms must be 1..600000 and max_transactions 1..100000")

    currencies = []
    for i, c in enumerate(_get(data, "currencies", list)):
        where = f"genesis.currencies[{i}]"
        try:
            currencies.append(Currency(_get(c, "code", str, where), _get(c, "exponent", int, where)))
        except ValueError as exc:
            raise GenesisError(f"{where}: {exc}") from None
    codes = [c.code for c in currencies]
    if len(set(codes)) != len(codes) or not codes:
        raise GenesisError("genesis.currencies must list at least one currency, each once")

    validators = []
    for i, v in enumerate(_get(data, "validators", list)):
        where = f"genesis.validators[{i}]"
        public_hex = _get(v, "public_key", str, where).removeprefix("0x")
        try:
            public_key = bytes.fromhex(public_hex)
        except ValueError:
            raise GenesisError(f"{where}.public_key is not hex") from None
        if len(public_key) == 65 and public_key[0] == 4:
            public_key = public_key[1:]
        if len(public_key) != 64:
            raise GenesisError(f"{where}.public_key must be a 64-byte uncompressed secp256k1 key")
        address = to_checksum_address(keccak(public_key)[-20:])
        if _get(v, "address", str, where).lower() != address.lower():
            raise GenesisError(f"{where}.address does not match its public key (expected {address})")
        power = _get(v, "power", int, where) if "power" in v else 1
        if power < 1:
            raise GenesisError(f"{where}.power must be positive")
        p2p = _p2p_identity(v, address, chain_id, where) if "p2p_certificate" in v else None
        validators.append(Validator(str(v.get("name", f"validator-{i}")), address, public_key, power, p2p))
    if not validators:
        raise GenesisError("genesis.validators must list at least one validator")
    if len(validators) > 1 and any(v.p2p is None for v in validators):
        raise GenesisError("genesis.validators: with several validators each needs p2p_certificate and p2p_binding")
    full_nodes = []
    for i, f in enumerate(data.get("full_nodes", [])):
        where = f"genesis.full_nodes[{i}]"
        address = to_checksum_address(_get(f, "address", str, where))
        identity = _p2p_identity(f, address, chain_id, where)
        full_nodes.append(FullNode(str(f.get("name", f"full-node-{i}")), address, identity))
    addresses = [v.address.lower() for v in validators] + [f.address.lower() for f in full_nodes]
    if len(set(addresses)) != len(addresses):
        raise GenesisError("genesis: a node address is listed twice among validators and full_nodes")

    roles = []
    for i, r in enumerate(data.get("roles", [])):
        where = f"genesis.roles[{i}]"
        try:
            roles.append(RoleGrant(_get(r, "role", str, where), _get(r, "holder", str, where), r.get("namespace", "*")))
        except ValueError as exc:
            raise GenesisError(f"{where}: {exc}") from None

    try:
        parse_governance(data.get("governance"))
    except ValueError as exc:
        raise GenesisError(f"genesis.{exc}") from None

    accounts: list[Account] = []
    balances: list[OpeningBalance] = []
    issuance: dict[str, str] = {}
    for code, spec in _get(data, "issuance", dict).items():
        where = f"genesis.issuance.{code}"
        if code not in codes:
            raise GenesisError(f"{where}: currency {code} is not in genesis.currencies")
        try:
            account_id = validate_account_id(_get(spec, "account", str, where))
            accounts.append(Account(id=account_id, currency=code, owner=_get(spec, "owner", str, where)))
        except ValueError as exc:
            raise GenesisError(f"{where}: {exc}") from None
        issuance[code] = account_id
    for i, a in enumerate(_get(data, "accounts", list)):
        where = f"genesis.accounts[{i}]"
        try:
            flags = AccountFlags.NONE
            for name in a.get("flags", []):
                if name not in FLAG_NAMES:
                    raise GenesisError(f"{where}.flags: unknown flag {name!r}; known: {sorted(FLAG_NAMES)}")
                flags |= FLAG_NAMES[name]
            status_name = a.get("status", "active")
            if status_name.upper() not in AccountStatus.__members__:
                raise GenesisError(f"{where}.status must be active, frozen or closed")
            currency = _get(a, "currency", str, where)
            if currency not in codes:
                raise GenesisError(f"{where}.currency {currency} is not in genesis.currencies")
            if currency not in issuance:
                raise GenesisError(f"{where}: currency {currency} has no issuance account in genesis.issuance")
            account = Account(
                id=validate_account_id(_get(a, "id", str, where)),
                currency=currency,
                owner=_get(a, "owner", str, where),
                flags=flags,
                overdraft_limit=_minor(a.get("overdraft_limit", 0), f"{where}.overdraft_limit"),
                status=AccountStatus[status_name.upper()],
            )
        except GenesisError:
            raise
        except ValueError as exc:
            raise GenesisError(f"{where}: {exc}") from None
        accounts.append(account)
        balance = _minor(a.get("balance", 0), f"{where}.balance")
        if balance:
            balances.append(OpeningBalance(account.id, balance))
    ids = [a.id for a in accounts]
    if len(set(ids)) != len(ids):
        duplicate = next(i for i in ids if ids.count(i) > 1)
        raise GenesisError(f"genesis.accounts: account {duplicate} is listed twice")
    try:
        evm = parse_evm_genesis(data.get("evm"))
    except EvmGenesisError as exc:
        raise GenesisError(str(exc)) from None
    return Genesis(
        screening=_screening(data.get("screening")),
        chain_id=chain_id,
        genesis_time=genesis_time,
        block=block,
        currencies=tuple(currencies),
        validators=tuple(validators),
        roles=tuple(roles),
        issuance=issuance,
        accounts=tuple(accounts),
        balances=tuple(balances),
        evm=evm,
        full_nodes=tuple(full_nodes),
        raw=data,
    )
