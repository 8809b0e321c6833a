"""The EVM part of the genesis file: native-coin allocation and fee settings.

    "evm": {
      "alloc": {"0xADDRESS": {"balance": "1000000000000000000", "code": "0x...", "nonce": 0,
                              "storage": {"0x00": "0x01"}}},
      "fee_recipient": "0x0000000000000000000000000000000000000000",
      "min_priority_fee_per_gas": 0
    }

The native coin has 18 decimals (wei), as wallets assume. Balances are integers (JSON numbers
or digit strings). The block gas limit and the base fee (0 allowed, constant: a permissioned
chain has no congestion auction) are `block.gas_limit` and `block.base_fee_per_gas`. Priority
fees go to `fee_recipient` (the consortium's account), the base fee is burned as in EIP-1559.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from eth_utils import to_checksum_address

from contracts.bridge.addresses import BRIDGE_ADDRESS, PLACEHOLDER_CODE, token_address

if TYPE_CHECKING:
    from contracts.evm.db import LevelDBView

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_HEX = re.compile(r"^0x([0-9a-fA-F]{2})*$")
MAX_U256 = 2**256 - 1
MAX_ALLOC = 100_000
MAX_CODE_BYTES = 24_576  # EIP-170


class EvmGenesisError(ValueError):
    """The genesis evm section is malformed; the message names the field."""


@dataclass(frozen=True, slots=True)
class AllocAccount:
    address: bytes
    balance: int = 0
    nonce: int = 0
    code: bytes = b""
    storage: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class EvmGenesis:
    alloc: tuple[AllocAccount, ...] = ()
    fee_recipient: bytes = bytes(20)
    min_priority_fee_per_gas: int = 0
    raw: dict = field(default_factory=dict, compare=False)


def _uint(value: object, where: str, maximum: int = MAX_U256) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    elif (
        isinstance(value, str) and value.startswith("0x") and _HEX.fullmatch("0x" + "0" * (len(value) % 2) + value[2:])
    ):
        value = int(value, 16) if len(value) > 2 else 0
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= maximum:
        raise EvmGenesisError(f"{where} must be an integer in 0..{maximum} (decimal digits or 0x hex)")
    return value


def _address(value: object, where: str) -> bytes:
    if not isinstance(value, str) or not _ADDRESS.fullmatch(value):
        raise EvmGenesisError(f"{where} must be a 20-byte 0x address")
    return bytes.fromhex(value[2:])


def parse_evm_genesis(data: object) -> EvmGenesis:
    if data is None:
        return EvmGenesis()
    if not isinstance(data, dict):
        raise EvmGenesisError("genesis.evm must be an object")
    known = {"alloc", "fee_recipient", "min_priority_fee_per_gas"}
    unknown = set(data) - known
    if unknown:
        raise EvmGenesisError(f"genesis.evm has unknown fields {sorted(unknown)}; known: {sorted(known)}")
    alloc_data = data.get("alloc", {})
    if not isinstance(alloc_data, dict) or len(alloc_data) > MAX_ALLOC:
        raise EvmGenesisError(f"genesis.evm.alloc must be an object of at most {MAX_ALLOC} addresses")
    alloc = []
    seen: set[bytes] = set()
    for key, spec in alloc_data.items():
        where = f"genesis.evm.alloc.{key}"
        address = _address(key, where)
        if address in seen:
            raise EvmGenesisError(f"{where} is listed twice")
        seen.add(address)
        if not isinstance(spec, dict):
            raise EvmGenesisError(f"{where} must be an object {{balance, nonce, code, storage}}")
        code_text = spec.get("code", "0x")
        if not isinstance(code_text, str) or not _HEX.fullmatch(code_text):
            raise EvmGenesisError(f"{where}.code must be 0x hex")
        code = bytes.fromhex(code_text[2:])
        if len(code) > MAX_CODE_BYTES:
            raise EvmGenesisError(f"{where}.code exceeds {MAX_CODE_BYTES} bytes (EIP-170)")
        storage_data = spec.get("storage", {})
        if not isinstance(storage_data, dict):
            raise EvmGenesisError(f"{where}.storage must be an object slot -> value")
        storage = tuple(
            (_uint(slot, f"{where}.storage key"), _uint(value, f"{where}.storage[{slot}]"))
            for slot, value in storage_data.items()
        )
        alloc.append(
            AllocAccount(
                address,
                _uint(spec.get("balance", 0), f"{where}.balance"),
                _uint(spec.get("nonce", 0), f"{where}.nonce", 2**64 - 1),
                code,
                storage,
            )
        )
    return EvmGenesis(
        alloc=tuple(alloc),
        fee_recipient=_address(data.get("fee_recipient", "0x" + "00" * 20), "genesis.evm.fee_recipient"),
        min_priority_fee_per_gas=_uint(data.get("min_priority_fee_per_gas", 0), "genesis.evm.min_priority_fee_per_gas"),
        raw=data,
    )


def genesis_state_root(view: LevelDBView, evm: EvmGenesis, context: object, currencies: tuple[str, ...] = ()) -> bytes:
    """Write the allocation into `view` (staged with the genesis block) and return its root.

    The ledger bridge and each currency's token address get a one-byte placeholder code, so
    wallets see contracts there and their storage (allowances) is never swept as empty."""
    # py-evm is imported here, not with the module: parsing a genesis file (every `qenex`
    # command that reads one) must not pay for loading the whole EVM (about a second).
    from eth.constants import BLANK_ROOT_HASH
    from eth.db.atomic import AtomicDB
    from eth.vm.forks.prague import PragueState

    state = PragueState(AtomicDB(view), context, BLANK_ROOT_HASH)
    for address in [BRIDGE_ADDRESS, *(token_address(code) for code in currencies)]:
        state.set_code(address, PLACEHOLDER_CODE)
    for account in evm.alloc:
        state.set_balance(account.address, account.balance)
        state.set_nonce(account.address, account.nonce)
        if account.code:
            state.set_code(account.address, account.code)
        for slot, value in account.storage:
            state.set_storage(account.address, slot, value)
    state.persist()
    return state.state_root


def alloc_json(balances: dict[str, int]) -> dict:
    """The `alloc` object for {address: wei}, in the form parse_evm_genesis reads."""
    return {to_checksum_address(address): {"balance": str(wei)} for address, wei in balances.items()}
