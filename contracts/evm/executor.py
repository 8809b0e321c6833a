"""One block's EVM state: Ethereum transactions applied by py-evm's newest fork (Prague).

An `EvmBlock` is opened on the parent block's EVM state root. `apply` checks a transaction
against the admission rules (gas limit, intrinsic gas, fees, balance; nonce and chain id are
checked by the caller and `decode_ethereum`) and refuses it whole (`EvmTxInvalid`, state
untouched), or executes it: a transaction that reverts or runs out of gas still pays for its gas
and gets a receipt with status 0, as in Ethereum. `commit(batch)` persists the tries into the
block's LevelDB write batch and returns the new root; a block that is not committed leaves
LevelDB untouched.

Nonces: a sender has one nonce for both transaction kinds (the ledger's, so
eth_getTransactionCount is one number). Before an Ethereum transaction runs, the sender's EVM
account nonce is set to it; py-evm then checks and increments it as usual, and contract
addresses (sender, nonce) stay unique.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import plyvel
from eth.abc import ComputationAPI
from eth.exceptions import Revert
from eth.vm.execution_context import ExecutionContext
from eth.vm.forks.prague import PragueVM
from eth_bloom import BloomFilter
from eth_utils import ValidationError

from contracts.bridge.layers import BridgeCurrency, LedgerLayers
from contracts.bridge.state import BridgedState, state_class
from contracts.evm.db import atomic_view
from contracts.evm.transaction import EthTransaction, EvmTxInvalid
from ledger.apply import BookingContext
from ledger.codec import bytes_to_int, int_to_bytes
from ledger.journal import Posting
from ledger.state import Overlay
from ledger.store import LedgerStore

FORK = "prague"
log = logging.getLogger("qenex.evm")


@dataclass(frozen=True, slots=True)
class EvmParams:
    chain_id: int
    gas_limit: int
    base_fee_per_gas: int
    min_priority_fee_per_gas: int
    fee_recipient: bytes
    currencies: tuple[BridgeCurrency, ...] = ()  # ledger currencies the bridge exposes as ERC-20s

    @property
    def state_class(self) -> type[BridgedState]:
        return state_class(tuple(c.code for c in self.currencies))

    def bridge_currencies(self) -> dict[str, BridgeCurrency]:
        return {c.code: c for c in self.currencies}


@dataclass(frozen=True, slots=True)
class EvmLog:
    address: bytes
    topics: tuple[bytes, ...]
    data: bytes


@dataclass(frozen=True, slots=True)
class EvmResult:
    """What an executed Ethereum transaction leaves in its receipt."""

    tx_type: int
    to: bytes  # b"" for contract creation
    contract_address: bytes  # b"" unless a successful creation
    gas_used: int
    cumulative_gas_used: int
    effective_gas_price: int
    logs: tuple[EvmLog, ...]
    output: bytes  # return data; for a revert, the revert data
    error: str = ""  # why execution failed (status 0), e.g. "execution reverted"

    @property
    def bloom(self) -> int:
        return logs_bloom(self.logs)

    def fields(self) -> list:
        return [
            int_to_bytes(self.tx_type),
            self.to,
            self.contract_address,
            int_to_bytes(self.gas_used),
            int_to_bytes(self.cumulative_gas_used),
            int_to_bytes(self.effective_gas_price),
            [[log.address, list(log.topics), log.data] for log in self.logs],
            self.output,
            self.error.encode(),
        ]

    @classmethod
    def from_fields(cls, f: list) -> EvmResult:
        return cls(
            bytes_to_int(f[0]),
            f[1],
            f[2],
            bytes_to_int(f[3]),
            bytes_to_int(f[4]),
            bytes_to_int(f[5]),
            tuple(EvmLog(log[0], tuple(log[1]), log[2]) for log in f[6]),
            f[7],
            f[8].decode(),
        )


def logs_bloom(logs: Iterable[EvmLog]) -> int:
    bloom = BloomFilter()
    for log in logs:
        bloom.add(log.address)
        for topic in log.topics:
            bloom.add(topic)
    return int(bloom)


def execution_context(
    params: EvmParams, number: int, timestamp: int, prev_hashes: Iterable[bytes], base_fee: int | None = None
) -> ExecutionContext:
    """The block environment opcodes see. prev_randao is zero: nothing here is random."""
    return ExecutionContext(
        coinbase=params.fee_recipient,
        timestamp=timestamp,
        block_number=number,
        difficulty=0,
        mix_hash=bytes(32),
        gas_limit=params.gas_limit,
        prev_hashes=prev_hashes,
        chain_id=params.chain_id,
        base_fee_per_gas=params.base_fee_per_gas if base_fee is None else base_fee,
        excess_blob_gas=0,
    )


def _log_entries(computation: ComputationAPI) -> tuple[EvmLog, ...]:
    return tuple(
        EvmLog(bytes(address), tuple(topic.to_bytes(32, "big") for topic in topics), bytes(data))
        for address, topics, data in computation.get_log_entries()
    )


def failure_text(computation: ComputationAPI) -> str:
    if not computation.is_error:
        return ""
    return (
        "execution reverted" if isinstance(computation.error, Revert) else str(computation.error) or "execution failed"
    )


class EvmBlock:
    """The EVM state of block `number` while its transactions are applied."""

    def __init__(
        self,
        db: plyvel.DB,
        params: EvmParams,
        parent_root: bytes,
        number: int,
        timestamp: int,
        prev_hashes: Iterable[bytes] = (),
        ledger_store: LedgerStore | None = None,
    ) -> None:
        self.params = params
        self.number = number
        self.timestamp = timestamp
        self.ledger_store = ledger_store
        atomic, self._view = atomic_view(db)
        context = execution_context(params, number, timestamp, prev_hashes)
        self.state = params.state_class(atomic, context, parent_root)
        self.gas_used = 0
        self.bloom = 0
        self.last_computation: ComputationAPI | None = None  # of the last applied transaction (tracing)
        self.transfer_id_salt = b""  # set by replays (contracts.evm.trace)

    def check(self, tx: EthTransaction, sender: str) -> None:
        """Raise EvmTxInvalid if `tx` may not enter this block now; changes nothing."""
        evm_tx = tx.evm_tx
        params = self.params
        if evm_tx.gas > params.gas_limit:
            raise EvmTxInvalid("gas_limit", "exceeds block gas limit")
        if evm_tx.gas > params.gas_limit - self.gas_used:
            raise EvmTxInvalid(
                "block_gas_full",
                f"block gas limit reached: {params.gas_limit - self.gas_used} gas left in the next block, "
                f"transaction needs {evm_tx.gas}; retry after the next block",
            )
        intrinsic = evm_tx.intrinsic_gas
        if evm_tx.gas < intrinsic:
            raise EvmTxInvalid("intrinsic_gas", f"intrinsic gas too low: gas {evm_tx.gas}, minimum needed {intrinsic}")
        base_fee = params.base_fee_per_gas
        if evm_tx.max_fee_per_gas < base_fee:
            raise EvmTxInvalid(
                "fee_too_low",
                f"max fee per gas less than block base fee: address {sender}, "
                f"maxFeePerGas: {evm_tx.max_fee_per_gas}, baseFee: {base_fee}",
            )
        if evm_tx.max_priority_fee_per_gas > evm_tx.max_fee_per_gas:
            raise EvmTxInvalid(
                "tip_above_fee_cap",
                f"max priority fee per gas higher than max fee per gas: address {sender}, "
                f"maxPriorityFeePerGas: {evm_tx.max_priority_fee_per_gas}, maxFeePerGas: {evm_tx.max_fee_per_gas}",
            )
        tip = min(evm_tx.max_priority_fee_per_gas, evm_tx.max_fee_per_gas - base_fee)
        if tip < params.min_priority_fee_per_gas:
            raise EvmTxInvalid(
                "underpriced",
                f"transaction underpriced: gas tip cap {tip}, minimum needed {params.min_priority_fee_per_gas}",
            )
        want = evm_tx.gas * evm_tx.max_fee_per_gas + evm_tx.value
        have = self.state.get_balance(evm_tx.sender)
        if have < want:
            raise EvmTxInvalid(
                "insufficient_funds",
                f"insufficient funds for gas * price + value: address {sender} have {have} want {want}",
            )

    def apply(self, tx: EthTransaction, sender: str, ledger: Overlay | None = None) -> tuple[EvmResult, list[Posting]]:
        """Execute `tx` (nonce already checked by the caller) or raise EvmTxInvalid unchanged.

        With `ledger` (the block's ledger overlay), contracts reach ledger money through the
        bridge; the postings of the calls that did not revert are merged into it and returned."""
        self.check(tx, sender)
        evm_tx = tx.evm_tx
        state = self.state
        layers = None
        if ledger is not None and self.ledger_store is not None:
            exponents = {c.code: c.exponent for c in self.params.currencies}
            ctx = BookingContext(self.number, self.timestamp, evm_tx.hash, exponents)
            currencies = self.params.bridge_currencies()
            layers = LedgerLayers(ledger.child(), self.ledger_store, ctx, currencies, self.transfer_id_salt)
        state.lock_changes()  # the start of a transaction: storage "original values" (EIP-2200)
        state.ledger = layers
        try:
            snapshot = state.snapshot()
            state.set_nonce(evm_tx.sender, tx.nonce)
            try:
                computation = state.apply_transaction(evm_tx)
            except ValidationError as exc:
                state.revert(snapshot)
                raise EvmTxInvalid("invalid_transaction", f"invalid transaction: {exc}") from None
            except Exception as exc:  # a fault in py-evm or a precompile: undo, never half-apply
                state.revert(snapshot)
                log.exception("evm_execution_error", extra={"fields": {"tx": evm_tx.hash.hex()}})
                raise EvmTxInvalid("execution_error", f"transaction could not be executed: {exc}") from None
            state.commit(snapshot)
        finally:
            state.ledger = None
        self.last_computation = computation
        postings: list[Posting] = []
        if layers is not None:
            postings = layers.postings()
            layers.base.merge_into_parent()
        state.lock_changes()
        gas_used = PragueVM.finalize_gas_used(evm_tx, computation)
        self.gas_used += gas_used
        assert self.gas_used <= self.params.gas_limit, "a block's gas used exceeds its gas limit"
        logs = () if computation.is_error else _log_entries(computation)
        created = b""
        if not evm_tx.to and not computation.is_error:
            created = bytes(computation.msg.storage_address)
        result = EvmResult(
            tx_type=tx.type_id,
            to=bytes(evm_tx.to),
            contract_address=created,
            gas_used=gas_used,
            cumulative_gas_used=self.gas_used,
            effective_gas_price=min(
                evm_tx.max_priority_fee_per_gas + self.params.base_fee_per_gas, evm_tx.max_fee_per_gas
            ),
            logs=logs,
            output=bytes(computation.output),
            error=failure_text(computation),
        )
        self.bloom |= result.bloom
        return result, postings

    def root(self) -> bytes:
        return self.state.make_state_root()

    def commit(self, batch: plyvel.WriteBatch) -> bytes:
        """Persist the block's tries into `batch`; return the EVM state root."""
        self.state.persist()
        self._view.stage(batch)
        return self.state.state_root
