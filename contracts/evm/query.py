"""Read-only EVM queries at a block's state root: accounts, eth_call and gas estimation.

Each query opens the state of the block it names (every past root stays readable: trie nodes
are never deleted) over a LevelDB view whose writes are dropped, so a call can never change the
chain. Calls run as a transaction from `sender` with a gas price of 0 and a base fee of 0, as
geth's eth_call does; the sender needs balance only for the value it sends.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import plyvel
import rlp
from eth.abc import ComputationAPI
from eth.constants import BLANK_ROOT_HASH, EMPTY_SHA3
from eth.db.atomic import AtomicDB
from eth.exceptions import Revert
from eth.vm.forks.prague import PragueVM
from eth.vm.spoof import SpoofTransaction
from eth_abi import decode as abi_decode
from eth_utils import ValidationError, keccak
from trie import HexaryTrie

from contracts.bridge.layers import LedgerLayers
from contracts.bridge.state import BridgedState
from contracts.evm.db import LevelDBView
from contracts.evm.executor import EvmParams, execution_context
from ledger.apply import BookingContext
from ledger.state import Overlay
from ledger.store import LedgerStore

ERROR_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)
PANIC_SELECTOR = bytes.fromhex("4e487b71")  # Panic(uint256)
ESTIMATE_ITERATIONS_MAX = 40


@dataclass(frozen=True, slots=True)
class CallArgs:
    sender: bytes
    to: bytes  # b"" creates a contract
    data: bytes = b""
    value: int = 0
    gas: int | None = None


class CallReverted(Exception):
    """The call ran REVERT: geth answers code 3 with the revert data and the decoded reason."""

    def __init__(self, output: bytes) -> None:
        self.output = output
        reason = revert_reason(output)
        super().__init__("execution reverted" + (f": {reason}" if reason else ""))


class CallFailed(Exception):
    """The call could not run (out of gas, invalid opcode, not enough balance for the value)."""


def revert_reason(output: bytes) -> str:
    """Solidity's Error(string) text, or the Panic(uint256) code, or "" if neither."""
    try:
        if output[:4] == ERROR_SELECTOR:
            return str(abi_decode(["string"], output[4:])[0])
        if output[:4] == PANIC_SELECTOR:
            return f"panic: code {abi_decode(['uint256'], output[4:])[0]:#x}"
    except Exception:
        return ""
    return ""


class StateReader:
    """The EVM state at one block, for reads and dry-run calls."""

    def __init__(
        self,
        db: plyvel.DB,
        params: EvmParams,
        root: bytes,
        number: int,
        timestamp: int,
        prev_hashes: Iterable[bytes],
        ledger_store: LedgerStore | None = None,
    ) -> None:
        self._db = db
        self._ledger_store = ledger_store
        self.params = params
        self.root = root
        self.number = number
        self.timestamp = timestamp
        self._prev_hashes = list(prev_hashes)
        self.state = self._fresh_state()

    def _fresh_state(self) -> BridgedState:
        context = execution_context(self.params, self.number, self.timestamp, self._prev_hashes, base_fee=0)
        state = self.params.state_class(AtomicDB(LevelDBView(self._db)), context, self.root)
        if self._ledger_store is not None:
            # The ledger keeps its latest state only: calls through the bridge read today's
            # balances whatever block they name; their bookings go to a throwaway overlay.
            exponents = {c.code: c.exponent for c in self.params.currencies}
            ctx = BookingContext(self.number, self.timestamp, bytes(32), exponents)
            state.ledger = LedgerLayers(
                Overlay(self._ledger_store), self._ledger_store, ctx, self.params.bridge_currencies()
            )
        return state

    def balance(self, address: bytes) -> int:
        return self.state.get_balance(address)

    def code(self, address: bytes) -> bytes:
        return self.state.get_code(address)

    def storage(self, address: bytes, slot: int) -> int:
        return self.state.get_storage(address, slot)

    def nonce(self, address: bytes) -> int:
        return self.state.get_nonce(address)

    def proof(self, address: bytes, slots: list[int]) -> dict:
        """EIP-1186: the account and storage values with their Merkle-Patricia proofs against this
        block's EVM state root (nodes RLP-encoded, root first)."""
        db = AtomicDB(LevelDBView(self._db))
        accounts = HexaryTrie(db, self.root)
        account_key = keccak(address)
        encoded = accounts.get(account_key)
        if encoded:
            nonce, balance, storage_root, code_hash = rlp.decode(encoded)
            nonce, balance = int.from_bytes(nonce, "big"), int.from_bytes(balance, "big")
        else:
            nonce, balance, storage_root, code_hash = 0, 0, BLANK_ROOT_HASH, EMPTY_SHA3
        storage = HexaryTrie(db, storage_root)
        storage_proofs = []
        for slot in slots:
            slot_key = keccak(slot.to_bytes(32, "big"))
            raw = storage.get(slot_key)
            value = int.from_bytes(rlp.decode(raw), "big") if raw else 0
            nodes = [rlp.encode(node) for node in storage.get_proof(slot_key)]
            storage_proofs.append((slot, value, nodes))
        return {
            "nonce": nonce,
            "balance": balance,
            "storage_root": storage_root,
            "code_hash": code_hash,
            "account_proof": [rlp.encode(node) for node in accounts.get_proof(account_key)],
            "storage": storage_proofs,
        }

    def _run(self, args: CallArgs, gas: int) -> tuple[ComputationAPI, SpoofTransaction]:
        state = self._fresh_state()
        unsigned = PragueVM.get_transaction_builder().new_unsigned_dynamic_fee_transaction(
            self.params.chain_id, state.get_nonce(args.sender), 0, 0, gas, args.to, args.value, args.data, ()
        )
        spoof = SpoofTransaction(unsigned, from_=args.sender)
        try:
            return state.apply_transaction(spoof), spoof
        except ValidationError as exc:
            text = str(exc)
            if "balance" in text.lower():
                raise CallFailed("insufficient funds for transfer") from None
            raise CallFailed(text) from None

    def call(self, args: CallArgs) -> bytes:
        """The call's return data; CallReverted / CallFailed if it did not succeed."""
        computation, _ = self._run(args, args.gas or self.params.gas_limit)
        _raise_failure(computation)
        return bytes(computation.output)

    def estimate_gas(self, args: CallArgs) -> int:
        """The least gas with which the call succeeds (binary search, like geth)."""
        high = args.gas or self.params.gas_limit
        computation, spoof = self._run(args, high)
        _raise_failure(computation)
        used = PragueVM.finalize_gas_used(spoof, computation)
        low = used - 1
        if self._succeeds(args, used):
            return used
        low = used
        for _ in range(ESTIMATE_ITERATIONS_MAX):
            if high - low <= 1:
                break
            middle = (low + high) // 2
            if self._succeeds(args, middle):
                high = middle
            else:
                low = middle
        return high

    def _succeeds(self, args: CallArgs, gas: int) -> bool:
        try:
            computation, _ = self._run(args, gas)
        except CallFailed:
            return False
        return not computation.is_error


def _raise_failure(computation: ComputationAPI) -> None:
    if not computation.is_error:
        return
    if isinstance(computation.error, Revert):
        raise CallReverted(bytes(computation.output))
    raise CallFailed(str(computation.error) or type(computation.error).__name__)
