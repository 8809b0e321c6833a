"""Ethereum JSON-RPC for the EVM: state reads, calls, gas, fees, logs and Ethereum transactions.

Registered over the ledger methods of node.rpc.methods (RpcMethods.table): methods that both
kinds of transaction reach (eth_sendRawTransaction, eth_getTransactionByHash, receipts,
blocks with full transactions) handle an Ethereum transaction here and hand a ledger
transaction (type 0x51) to the ledger method unchanged. Error codes and messages are geth's:
-32000 with geth's text for a refused transaction, 3 with the revert data for a reverted call.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from eth_bloom import BloomFilter
from eth_utils import to_checksum_address

from contracts.events import decode_log
from contracts.evm.query import CallArgs, CallFailed, CallReverted, StateReader
from contracts.evm.trace import trace_block
from contracts.evm.transaction import MAX_TX_BYTES, EthTransaction, decode_ethereum, is_ethereum_raw
from node.block import Header, Receipt
from node.execution import SignedTransaction, TransactionRejected
from node.rpc.errors import INVALID_INPUT, LIMIT_EXCEEDED, RpcError, invalid_params
from node.rpc.eth_serialize import serialize_eth_receipt, serialize_eth_transaction, serialize_log
from node.rpc.filters import Filters
from node.rpc.serialize import data, qty, serialize_posting, serialize_receipt

if TYPE_CHECKING:
    from node.rpc.methods import RpcMethods

T = TypeVar("T")
EXECUTION_REVERTED = 3  # geth: eth_call / eth_estimateGas of a call that reverts
LOGS_BLOCK_RANGE_MAX = 10_000
LOGS_RESULTS_MAX = 10_000
FEE_HISTORY_BLOCKS_MAX = 1024
PROOF_KEYS_MAX = 1024
CALL_DATA_MAX = MAX_TX_BYTES
_HEX = re.compile(r"^0x[0-9a-fA-F]*$")
_QUANTITY = re.compile(r"^0x(0|[1-9a-fA-F][0-9a-fA-F]{0,63})$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
GETH_MESSAGES = {"already_known": "already known", "mempool_full": "txpool is full"}


def _param(params: list, index: int, name: str, required: bool = True, default: Any = None) -> Any:
    if index < len(params) and params[index] is not None:
        return params[index]
    if required:
        raise invalid_params(f"missing parameter {index} ({name})")
    return default


def _bytes(value: object, name: str, length: int | None = None, limit: int = CALL_DATA_MAX) -> bytes:
    if not isinstance(value, str) or not _HEX.fullmatch(value) or len(value) % 2 or len(value) > 2 + 2 * limit:
        raise invalid_params(f"{name} must be 0x-prefixed hex with an even number of digits, at most {limit} bytes")
    raw = bytes.fromhex(value[2:])
    if length is not None and len(raw) != length:
        raise invalid_params(f"{name} must be {length} bytes")
    return raw


def _quantity(value: object, name: str) -> int:
    if not isinstance(value, str) or not _QUANTITY.fullmatch(value):
        raise invalid_params(f"{name} must be a hex quantity like 0x1a (no leading zeros)")
    return int(value, 16)


def _address(value: object, name: str) -> bytes:
    if not isinstance(value, str) or not _ADDRESS.fullmatch(value):
        raise invalid_params(f"{name} must be a 20-byte 0x address")
    return bytes.fromhex(value[2:])


class EthRpc:
    def __init__(self, ledger_methods: RpcMethods, ledger_table: dict[str, Callable[[list], Any]]) -> None:
        self.ledger = ledger_methods
        self.node = ledger_methods.node
        self._original = ledger_table

    @property
    def chain(self):  # noqa: ANN201 - node.chain.Chain
        return self.node.chain

    def table(self) -> dict[str, Callable[[list], Any]]:
        return {
            "eth_sendRawTransaction": self.send_raw_transaction,
            "eth_getTransactionByHash": self.get_transaction_by_hash,
            "eth_getTransactionReceipt": self.get_transaction_receipt,
            "eth_getBlockByNumber": self.get_block_by_number,
            "eth_getBlockByHash": self.get_block_by_hash,
            "eth_getTransactionByBlockNumberAndIndex": self.tx_by_number_and_index,
            "eth_getTransactionByBlockHashAndIndex": self.tx_by_hash_and_index,
            "eth_getBlockReceipts": self.get_block_receipts,
            "eth_getBalance": self.get_balance,
            "eth_getCode": self.get_code,
            "eth_getStorageAt": self.get_storage_at,
            "eth_getProof": self.get_proof,
            "eth_call": self.call,
            "eth_estimateGas": self.estimate_gas,
            "eth_getLogs": self.get_logs,
            "eth_gasPrice": lambda p: qty(self._base_fee() + self._min_tip()),
            "eth_maxPriorityFeePerGas": lambda p: qty(self._min_tip()),
            "eth_feeHistory": self.fee_history,
            "qenex_getTransactionPostings": self.get_transaction_postings,
            "qenex_getTransactionEvents": self.get_transaction_events,
            "debug_traceTransaction": self.trace_transaction,
            "debug_traceBlockByNumber": self.trace_block_by_number,
            "debug_traceBlockByHash": self.trace_block_by_hash,
        } | Filters(self).table()

    def _base_fee(self) -> int:
        return self.node.genesis.block.base_fee_per_gas

    def _min_tip(self) -> int:
        return self.node.genesis.evm.min_priority_fee_per_gas

    # --- blocks and state --------------------------------------------------------------------

    def _number(self, tag: object) -> int:
        """A block tag or number, or a clear error if the block does not exist (state reads)."""
        if isinstance(tag, dict):
            if "blockHash" in tag:
                number = self.chain.block_number_by_hash(_bytes(tag["blockHash"], "blockHash", 32))
                if number is None:
                    raise RpcError(-32000, f"header for hash {tag['blockHash']} not found")
                return number
            tag = tag.get("blockNumber")
        number = self.ledger._block_number(tag)
        if number is None:
            raise RpcError(-32000, "header not found")
        return number

    def _reader(self, number: int) -> StateReader:
        """Calls run as in the block after `number`; on the head, at the time a block made now
        would carry (so a deadline that has passed counts as passed, as in Anvil and Hardhat)."""
        header = self.chain.header(number)
        prev = (self.chain.header(n).hash for n in range(number, max(-1, number - 256), -1))
        timestamp = max(header.timestamp, int(time.time())) if number == self.chain.height else header.timestamp
        return StateReader(
            self.chain.db, self.chain.evm_params, header.evm_state_root, number + 1, timestamp, prev, self.chain.ledger
        )

    def get_balance(self, params: list) -> str:
        address = _address(_param(params, 0, "address"), "address")
        return qty(self._reader(self._number(_param(params, 1, "block", False, "latest"))).balance(address))

    def get_code(self, params: list) -> str:
        address = _address(_param(params, 0, "address"), "address")
        return data(self._reader(self._number(_param(params, 1, "block", False, "latest"))).code(address))

    def get_storage_at(self, params: list) -> str:
        address = _address(_param(params, 0, "address"), "address")
        slot_text = _param(params, 1, "storage slot")
        if not isinstance(slot_text, str) or not _HEX.fullmatch(slot_text) or not 2 < len(slot_text) <= 66:
            raise invalid_params("storage slot must be a hex number of at most 32 bytes")
        reader = self._reader(self._number(_param(params, 2, "block", False, "latest")))
        return data(reader.storage(address, int(slot_text, 16)).to_bytes(32, "big"))

    def get_proof(self, params: list) -> dict:
        address = _address(_param(params, 0, "address"), "address")
        keys = _param(params, 1, "storage keys")
        if not isinstance(keys, list) or len(keys) > PROOF_KEYS_MAX:
            raise invalid_params(f"storage keys must be a list of at most {PROOF_KEYS_MAX} hex slots")
        slots = []
        for key in keys:
            if not isinstance(key, str) or not _HEX.fullmatch(key) or not 2 < len(key) <= 66:
                raise invalid_params("each storage key must be a hex number of at most 32 bytes")
            slots.append(int(key, 16))
        proven = self._reader(self._number(_param(params, 2, "block", False, "latest"))).proof(address, slots)
        return {
            "address": to_checksum_address(address),
            "accountProof": [data(node) for node in proven["account_proof"]],
            "balance": qty(proven["balance"]),
            "codeHash": data(proven["code_hash"]),
            "nonce": qty(proven["nonce"]),
            "storageHash": data(proven["storage_root"]),
            "storageProof": [
                {"key": keys[i], "value": qty(value), "proof": [data(node) for node in nodes]}
                for i, (_, value, nodes) in enumerate(proven["storage"])
            ],
        }

    def _call_args(self, value: object) -> CallArgs:
        if not isinstance(value, dict):
            raise invalid_params("transaction call object must be an object {from, to, data, value, gas}")
        if "data" in value and "input" in value and value["data"] != value["input"]:
            raise invalid_params('both "data" and "input" are set and not equal; please use "input"')
        payload = value.get("input", value.get("data"))
        gas = value.get("gas")
        return CallArgs(
            sender=_address(value["from"], "from") if value.get("from") else bytes(20),
            to=_address(value["to"], "to") if value.get("to") else b"",
            data=_bytes(payload, "input") if payload is not None else b"",
            value=_quantity(value["value"], "value") if value.get("value") is not None else 0,
            gas=min(_quantity(gas, "gas"), self.chain.evm_params.gas_limit) if gas is not None else None,
        )

    def _simulate(self, params: list, run: Callable[[StateReader, CallArgs], T]) -> T:
        """eth_call and eth_estimateGas: the call object at a block, run once; a revert is code 3
        with its output as data (what wallets decode), any other failure -32000 saying why."""
        args = self._call_args(_param(params, 0, "transaction"))
        reader = self._reader(self._number(_param(params, 1, "block", False, "latest")))
        try:
            return run(reader, args)
        except CallReverted as reverted:
            raise RpcError(EXECUTION_REVERTED, str(reverted), data(reverted.output)) from None
        except CallFailed as failed:
            raise RpcError(-32000, str(failed)) from None

    def call(self, params: list) -> str:
        return data(self._simulate(params, lambda reader, args: reader.call(args)))

    def estimate_gas(self, params: list) -> str:
        return qty(self._simulate(params, lambda reader, args: reader.estimate_gas(args)))

    # --- transactions ------------------------------------------------------------------------

    def send_raw_transaction(self, params: list) -> str:
        raw_text = _param(params, 0, "raw transaction")
        if isinstance(raw_text, str) and len(raw_text) > 2 + 2 * MAX_TX_BYTES:
            raise RpcError(-32000, f"oversized data: transaction size {(len(raw_text) - 2) // 2}, limit {MAX_TX_BYTES}")
        raw = _bytes(raw_text, "raw transaction", limit=MAX_TX_BYTES)
        if not is_ethereum_raw(raw):
            return self._original["eth_sendRawTransaction"](params)
        try:
            signed = self.node.admit(raw)
        except TransactionRejected as rejected:
            code = INVALID_INPUT if rejected.rule == "malformed" else -32000
            raise RpcError(code, GETH_MESSAGES.get(rejected.rule, rejected.message)) from None
        return data(signed.hash)

    def _decode(self, raw: bytes) -> EthTransaction:
        return decode_ethereum(raw, self.node.genesis.chain_id)[0]

    def _serialize_tx(self, raw: bytes, header: Header, index: int) -> dict:
        if not is_ethereum_raw(raw):
            from ledger.tx import decode_transaction
            from node.rpc.serialize import serialize_transaction

            tx = decode_transaction(raw)
            return serialize_transaction(tx, tx.hash, tx.sender(), self.node.genesis.exponents, header, index)
        tx, sender = decode_ethereum(raw, self.node.genesis.chain_id)
        return serialize_eth_transaction(tx, tx.evm_tx.hash, sender, header, index)

    def pending_json(self, signed: SignedTransaction) -> dict:
        if isinstance(signed.tx, EthTransaction):
            return serialize_eth_transaction(signed.tx, signed.hash, signed.sender)
        from node.rpc.serialize import serialize_transaction

        return serialize_transaction(signed.tx, signed.hash, signed.sender, self.node.genesis.exponents)

    def get_transaction_by_hash(self, params: list) -> dict | None:
        tx_hash = _bytes(_param(params, 0, "transaction hash"), "transaction hash", 32)
        location = self.chain.locate_transaction(tx_hash)
        if location is None:
            pending = self.node.mempool.get(tx_hash)
            if pending is not None and isinstance(pending.tx, EthTransaction):
                return serialize_eth_transaction(pending.tx, pending.hash, pending.sender)
            return self._original["eth_getTransactionByHash"](params)
        raw = self.chain.transaction(location)
        if not is_ethereum_raw(raw):
            return self._original["eth_getTransactionByHash"](params)
        return self._serialize_tx(raw, self.chain.header(location.block_number), location.index)

    def _receipt_json(self, header: Header, receipts: list[Receipt], raws: list[bytes], index: int) -> dict:
        raw = raws[index]
        if not is_ethereum_raw(raw):
            return serialize_receipt(receipts[index], header, index, self.node.genesis.exponents)
        first_log = sum(len(r.evm.logs) for r in receipts[:index] if r.evm is not None)
        cumulative = sum(r.evm.gas_used for r in receipts[: index + 1] if r.evm is not None)
        return serialize_eth_receipt(receipts[index], self._decode(raw), header, index, first_log, cumulative)

    def get_transaction_receipt(self, params: list) -> dict | None:
        tx_hash = _bytes(_param(params, 0, "transaction hash"), "transaction hash", 32)
        location = self.chain.locate_transaction(tx_hash)
        if location is None:
            return None
        raw = self.chain.transaction(location)
        if not is_ethereum_raw(raw):
            return self._original["eth_getTransactionReceipt"](params)
        block = self.chain.block(location.block_number)
        receipts = self.chain.receipts(location.block_number)
        return self._receipt_json(block.header, receipts, list(block.transactions), location.index)

    def get_transaction_postings(self, params: list) -> dict | None:
        """What a transaction booked on the ledger (a ledger transaction's transfers, or an
        Ethereum transaction's bridge transfers) and, if it failed, why. Ethereum receipts keep
        the execution-apis shape exactly, so this is where their postings are read."""
        tx_hash = _bytes(_param(params, 0, "transaction hash"), "transaction hash", 32)
        location = self.chain.locate_transaction(tx_hash)
        if location is None:
            return None
        receipt = self.chain.receipt(location)
        exponents = self.node.genesis.exponents
        return {
            "transactionHash": data(tx_hash),
            "blockNumber": qty(location.block_number),
            "status": qty(receipt.status),
            "error": None if receipt.status else {"rule": receipt.error_rule, "message": receipt.error_message},
            "postings": [serialize_posting(p, exponents) for p in receipt.postings],
        }

    def get_transaction_events(self, params: list) -> list[dict] | None:
        """An Ethereum transaction's logs, each decoded when it is an event of a contract this
        project ships or of the ERC-20 interface (contracts/events.py), else `decoded: null`."""
        tx_hash = _bytes(_param(params, 0, "transaction hash"), "transaction hash", 32)
        location = self.chain.locate_transaction(tx_hash)
        if location is None:
            return None
        evm = self.chain.receipt(location).evm
        logs = () if evm is None else evm.logs
        return [
            {
                "index": qty(index),
                "address": to_checksum_address(log.address),
                "topics": [data(t) for t in log.topics],
                "data": data(log.data),
                "decoded": decode_log(log.address, list(log.topics), log.data),
            }
            for index, log in enumerate(logs)
        ]

    def get_block_receipts(self, params: list) -> list[dict] | None:
        tag = _param(params, 0, "block")
        if isinstance(tag, str) and len(tag) == 66:
            number = self.chain.block_number_by_hash(_bytes(tag, "block hash", 32))
        else:
            number = self.ledger._block_number(tag)
        if number is None:
            return None
        block = self.chain.block(number)
        receipts = self.chain.receipts(number)
        raws = list(block.transactions)
        return [self._receipt_json(block.header, receipts, raws, i) for i in range(len(raws))]

    # --- blocks ----------------------------------------------------------------------------

    def _block(self, result: dict | None, full: bool) -> dict | None:
        """The ledger's block JSON with the EVM fields and, if asked, every transaction in full."""
        if result is None:
            return None
        number = int(result["number"], 16)
        block = self.chain.block(number)
        header = block.header
        result["logsBloom"] = data(header.logs_bloom)
        result["evmStateRoot"] = data(header.evm_state_root)  # stateRoot is the ledger's commitment
        if full:
            result["transactions"] = [self._serialize_tx(raw, header, i) for i, raw in enumerate(block.transactions)]
        return result

    def get_block_by_number(self, params: list) -> dict | None:
        full = bool(_param(params, 1, "full transactions", False, False))
        lean = [params[0] if params else None, False]
        return self._block(self._original["eth_getBlockByNumber"](lean), full)

    def get_block_by_hash(self, params: list) -> dict | None:
        full = bool(_param(params, 1, "full transactions", False, False))
        lean = [params[0] if params else None, False]
        return self._block(self._original["eth_getBlockByHash"](lean), full)

    def _tx_at(self, number: int | None, index_text: object) -> dict | None:
        index = _quantity(index_text, "index")
        if number is None:
            return None
        block = self.chain.block(number)
        if index >= len(block.transactions):
            return None
        return self._serialize_tx(block.transactions[index], block.header, index)

    def tx_by_number_and_index(self, params: list) -> dict | None:
        return self._tx_at(self.ledger._block_number(_param(params, 0, "block")), _param(params, 1, "index"))

    def tx_by_hash_and_index(self, params: list) -> dict | None:
        number = self.chain.block_number_by_hash(_bytes(_param(params, 0, "block hash"), "block hash", 32))
        return self._tx_at(number, _param(params, 1, "index"))

    # --- logs --------------------------------------------------------------------------------

    def get_logs(self, params: list) -> list[dict]:
        query = _param(params, 0, "filter")
        if not isinstance(query, dict):
            raise invalid_params("filter must be an object {fromBlock, toBlock, address, topics, blockHash}")
        if query.get("blockHash") is not None:
            if query.get("fromBlock") is not None or query.get("toBlock") is not None:
                raise invalid_params("cannot specify both blockHash and fromBlock/toBlock, choose one or the other")
            number = self.chain.block_number_by_hash(_bytes(query["blockHash"], "blockHash", 32))
            if number is None:
                raise RpcError(-32000, "unknown block")
            first = last = number
        else:
            first = self._requested(query.get("fromBlock"))
            last = self._requested(query.get("toBlock"))
            if first > last:
                raise RpcError(-32000, "invalid block range params")
            range_max = self.node.config.rpc_policy.logs_block_range_max
            if last - first + 1 > range_max:
                raise RpcError(
                    LIMIT_EXCEEDED,
                    f"query exceeds max block range {range_max}: asked for {last - first + 1} blocks "
                    f"({first}..{last}); split the range",
                )
            if last > self.chain.height:
                raise RpcError(-32000, "block range extends beyond current head block")
        return self.logs_between(first, last, *_log_filter(query))

    def _requested(self, tag: object) -> int:
        """A filter bound as asked (a number past the head stays past it; tags resolve)."""
        if isinstance(tag, str) and _QUANTITY.fullmatch(tag):
            return int(tag, 16)
        number = self.ledger._block_number(tag or "latest")
        assert number is not None, "a block tag always names an existing block"
        return number

    def logs_between(self, first: int, last: int, addresses: set[bytes], topics: list[set[bytes] | None]) -> list:
        found: list[dict] = []
        for number in range(first, last + 1):
            header = self.chain.header(number)
            if not _bloom_may_match(header.logs_bloom, addresses, topics):
                continue
            block = self.chain.block(number)
            receipts = self.chain.receipts(number)
            log_index = 0
            for tx_index, receipt in enumerate(receipts):
                if receipt.evm is None:
                    continue
                for log in receipt.evm.logs:
                    if _log_matches(log.address, log.topics, addresses, topics):
                        tx_hash = receipt.tx_hash
                        found.append(serialize_log(log, block.header, tx_hash, tx_index, log_index))
                        if len(found) > LOGS_RESULTS_MAX:
                            raise RpcError(
                                LIMIT_EXCEEDED, f"query returned more than {LOGS_RESULTS_MAX} results; narrow it"
                            )
                    log_index += 1
        return found

    # --- tracing (callTracer) ------------------------------------------------------------------

    def _tracer(self, options: object) -> None:
        if options is None:
            options = {}
        if not isinstance(options, dict) or options.get("tracer") != "callTracer":
            raise invalid_params('only {"tracer": "callTracer"} is supported')

    def _trace(self, number: int) -> list[dict | None]:
        if number == 0:
            return []
        block = self.chain.block(number)
        parent = self.chain.header(number - 1)
        receipts = self.chain.receipts(number)
        prev = [self.chain.header(n).hash for n in range(number - 1, max(-1, number - 257), -1)]
        return trace_block(
            self.chain.db,
            self.chain.evm_params,
            parent.evm_state_root,
            number,
            block.header.timestamp,
            prev,
            self.chain.ledger,
            list(block.transactions),
            [r.evm.gas_used if r.evm is not None else 0 for r in receipts],
        )

    def trace_transaction(self, params: list) -> dict:
        tx_hash = _bytes(_param(params, 0, "transaction hash"), "transaction hash", 32)
        self._tracer(params[1] if len(params) > 1 else None)
        location = self.chain.locate_transaction(tx_hash)
        if location is None:
            raise RpcError(-32000, "transaction not found")
        frame = self._trace(location.block_number)[location.index]
        if frame is None:
            raise RpcError(-32000, "a ledger transaction (type 0x51) runs no EVM code; see its postings")
        return frame

    def _trace_json(self, number: int | None) -> list[dict]:
        if number is None:
            raise RpcError(-32000, "block not found")
        block = self.chain.block(number)
        frames = self._trace(number)
        from ledger.hashing import keccak

        return [
            {"txHash": data(keccak(raw)), "result": frame}
            for raw, frame in zip(block.transactions, frames, strict=True)
            if frame is not None
        ]

    def trace_block_by_number(self, params: list) -> list[dict]:
        self._tracer(params[1] if len(params) > 1 else None)
        return self._trace_json(self.ledger._block_number(_param(params, 0, "block")))

    def trace_block_by_hash(self, params: list) -> list[dict]:
        self._tracer(params[1] if len(params) > 1 else None)
        return self._trace_json(
            self.chain.block_number_by_hash(_bytes(_param(params, 0, "block hash"), "block hash", 32))
        )

    # --- fees --------------------------------------------------------------------------------

    def fee_history(self, params: list) -> dict:
        count_value = _param(params, 0, "blockCount")
        count = count_value if isinstance(count_value, int) else _quantity(count_value, "blockCount")
        if not 1 <= count <= FEE_HISTORY_BLOCKS_MAX:
            raise invalid_params(f"blockCount must be in 1..{FEE_HISTORY_BLOCKS_MAX}")
        newest = self.ledger._block_number(_param(params, 1, "newestBlock"))
        if newest is None:
            raise RpcError(-32000, "block range extends beyond current head block")
        percentiles = _param(params, 2, "rewardPercentiles", False, None)
        if percentiles is not None and (
            not isinstance(percentiles, list)
            or len(percentiles) > 100
            or any(not isinstance(p, int | float) or not 0 <= p <= 100 for p in percentiles)
            or percentiles != sorted(percentiles)
        ):
            raise invalid_params("rewardPercentiles must be an increasing list of numbers in 0..100")
        oldest = max(0, newest - count + 1)
        base_fees, ratios, rewards = [], [], []
        for number in range(oldest, newest + 1):
            header = self.chain.header(number)
            base_fees.append(qty(header.base_fee_per_gas))
            ratios.append(header.gas_used / header.gas_limit if header.gas_limit else 0.0)
            if percentiles is not None:
                rewards.append([qty(r) for r in self._rewards(number, header, percentiles)])
        base_fees.append(qty(self._base_fee()))  # the next block's: constant on this chain
        result: dict = {"oldestBlock": qty(oldest), "baseFeePerGas": base_fees, "gasUsedRatio": ratios}
        if percentiles is not None:
            result["reward"] = rewards
        return result

    def _rewards(self, number: int, header: Header, percentiles: list) -> list[int]:
        """Priority fee at each gas-weighted percentile of the block's Ethereum transactions."""
        block = self.chain.block(number)
        tips = []
        for raw, receipt in zip(block.transactions, self.chain.receipts(number), strict=True):
            if receipt.evm is None:
                continue
            evm_tx = self._decode(raw).evm_tx
            tip = min(evm_tx.max_priority_fee_per_gas, evm_tx.max_fee_per_gas - header.base_fee_per_gas)
            tips.append((tip, receipt.evm.gas_used))
        if not tips:
            return [0 for _ in percentiles]
        tips.sort()
        total = sum(gas for _, gas in tips)
        result = []
        for percentile in percentiles:
            threshold = total * percentile / 100
            running = 0
            chosen = tips[-1][0]
            for tip, gas in tips:
                running += gas
                if running >= threshold:
                    chosen = tip
                    break
            result.append(chosen)
        return result


def _log_filter(query: dict) -> tuple[set[bytes], list[set[bytes] | None]]:
    address_value = query.get("address")
    if address_value is None:
        addresses: set[bytes] = set()
    elif isinstance(address_value, list):
        if len(address_value) > 1000:
            raise invalid_params("at most 1000 addresses per filter")
        addresses = {_address(a, "address") for a in address_value}
    else:
        addresses = {_address(address_value, "address")}
    topics_value = query.get("topics") or []
    if not isinstance(topics_value, list) or len(topics_value) > 4:
        raise invalid_params("topics must be a list of at most 4 positions")
    topics: list[set[bytes] | None] = []
    for position in topics_value:
        if position is None:
            topics.append(None)
        elif isinstance(position, list):
            if len(position) > 1000:
                raise invalid_params("at most 1000 alternatives per topic position")
            topics.append({_bytes(t, "topic", 32) for t in position if t is not None} or None)
        else:
            topics.append({_bytes(position, "topic", 32)})
    return addresses, topics


def _log_matches(address: bytes, log_topics: tuple[bytes, ...], addresses: set, topics: list) -> bool:
    if addresses and address not in addresses:
        return False
    if len(topics) > len(log_topics):
        return False
    return all(wanted is None or log_topics[i] in wanted for i, wanted in enumerate(topics))


def _bloom_may_match(bloom_bytes: bytes, addresses: set[bytes], topics: list[set[bytes] | None]) -> bool:
    bloom = BloomFilter(int.from_bytes(bloom_bytes, "big"))
    if addresses and not any(a in bloom for a in addresses):
        return False
    return all(wanted is None or any(t in bloom for t in wanted) for wanted in topics)
