"""geth's callTracer for executed transactions: the tree of calls a transaction made.

A block is replayed from its parent's EVM state root (every past root stays readable) and each
transaction's computation tree becomes callTracer frames: type, from, to, value, gas, gasUsed,
input, output, error / revertReason, calls. Explorers show internal transactions from it.
The ledger keeps its latest state only, so a replayed call into the ledger bridge sees today's
balances (its EVM effects and the frame tree are otherwise those of the block).
"""

from __future__ import annotations

from collections.abc import Iterable

import plyvel
from eth.abc import ComputationAPI
from eth_utils import to_checksum_address

from contracts.evm.executor import EvmBlock, EvmParams, failure_text
from contracts.evm.query import revert_reason
from contracts.evm.transaction import EvmTxInvalid, decode_ethereum, is_ethereum_raw
from ledger.state import Overlay
from ledger.store import LedgerStore

MAX_FRAMES = 10_000


def _kind(computation: ComputationAPI) -> str:
    msg = computation.msg
    if msg.is_create:
        return "CREATE"
    if msg.is_static:
        return "STATICCALL"
    if msg.storage_address != msg.code_address:
        return "CALLCODE" if msg.should_transfer_value else "DELEGATECALL"
    return "CALL"


def call_frame(computation: ComputationAPI, gas: int | None = None, gas_used: int | None = None) -> dict:
    """The callTracer frame of a computation and, recursively, of its children."""
    budget = [MAX_FRAMES]

    def frame(c: ComputationAPI, top: bool) -> dict:
        budget[0] -= 1
        msg = c.msg
        kind = _kind(c)
        to = msg.storage_address if kind in ("CREATE", "DELEGATECALL", "CALLCODE") else msg.to
        result: dict = {
            "type": kind,
            "from": to_checksum_address(msg.sender),
            "to": to_checksum_address(to if kind != "DELEGATECALL" else msg.code_address),
            "value": hex(msg.value),
            "gas": hex(gas if top and gas is not None else msg.gas),
            "gasUsed": hex(gas_used if top and gas_used is not None else msg.gas - c.get_gas_remaining()),
            "input": "0x" + bytes(msg.data_as_bytes if kind != "CREATE" else msg.code).hex(),
            "output": "0x" + bytes(c.output).hex(),
        }
        if kind == "DELEGATECALL":
            result["to"] = to_checksum_address(msg.code_address)
        if c.is_error:
            result["error"] = failure_text(c)
            reason = revert_reason(bytes(c.output))
            if reason:
                result["revertReason"] = reason
        children = [child for child in c.children if budget[0] > 0]
        if children:
            result["calls"] = [frame(child, False) for child in children]
        return result

    return frame(computation, True)


def trace_block(
    db: plyvel.DB,
    params: EvmParams,
    parent_root: bytes,
    number: int,
    timestamp: int,
    prev_hashes: Iterable[bytes],
    ledger_store: LedgerStore,
    raws: list[bytes],
    gas_used: list[int],
) -> list[dict | None]:
    """One frame per transaction of the block (None for ledger transactions)."""
    replay = EvmBlock(db, params, parent_root, number, timestamp, prev_hashes, ledger_store)
    replay.transfer_id_salt = b"trace:"
    ledger = Overlay(ledger_store)
    frames: list[dict | None] = []
    for raw, used in zip(raws, gas_used, strict=True):
        if not is_ethereum_raw(raw):
            frames.append(None)
            continue
        tx, sender = decode_ethereum(raw, params.chain_id)
        try:
            replay.apply(tx, sender, ledger)
        except EvmTxInvalid as refused:
            frames.append({"type": "CALL", "from": sender, "error": refused.message, "calls": []})
            continue
        assert replay.last_computation is not None
        frames.append(call_frame(replay.last_computation, tx.evm_tx.gas, used))
    return frames
