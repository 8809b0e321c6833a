"""How Ethereum transactions, receipts and logs look over JSON-RPC (execution-apis shapes)."""

from __future__ import annotations

from eth_utils import to_checksum_address

from contracts.evm.executor import EvmLog, logs_bloom
from contracts.evm.transaction import EthTransaction
from node.block import Header, Receipt
from node.rpc.serialize import data, qty


def _address(value: bytes) -> str | None:
    return to_checksum_address(value) if value else None


def serialize_eth_transaction(
    tx: EthTransaction,
    tx_hash: bytes,
    sender: str,
    header: Header | None = None,
    index: int | None = None,
) -> dict:
    evm_tx = tx.evm_tx
    result: dict = {
        "hash": data(tx_hash),
        "type": qty(tx.type_id),
        "chainId": qty(tx.chain_id),
        "nonce": qty(evm_tx.nonce),
        "from": sender,
        "to": _address(bytes(evm_tx.to)),
        "value": qty(evm_tx.value),
        "gas": qty(evm_tx.gas),
        "input": data(bytes(evm_tx.data)),
        "blockHash": data(header.hash) if header else None,
        "blockNumber": qty(header.number) if header else None,
        "blockTimestamp": qty(header.timestamp) if header else None,
        "transactionIndex": qty(index) if index is not None else None,
        "r": qty(evm_tx.r),
        "s": qty(evm_tx.s),
    }
    if tx.type_id == 0:
        result["gasPrice"] = qty(evm_tx.gas_price)
        result["v"] = qty(evm_tx.v)
        return result
    result["accessList"] = [
        {
            "address": to_checksum_address(address),
            "storageKeys": ["0x" + slot.to_bytes(32, "big").hex() for slot in slots],
        }
        for address, slots in evm_tx.access_list
    ]
    result["v"] = qty(evm_tx.y_parity)
    result["yParity"] = qty(evm_tx.y_parity)
    if tx.type_id == 1:
        result["gasPrice"] = qty(evm_tx.gas_price)
        return result
    result["maxFeePerGas"] = qty(evm_tx.max_fee_per_gas)
    result["maxPriorityFeePerGas"] = qty(evm_tx.max_priority_fee_per_gas)
    # gasPrice: the effective price once in a block, the fee cap while pending (geth).
    if header is not None:
        price = min(evm_tx.max_priority_fee_per_gas + header.base_fee_per_gas, evm_tx.max_fee_per_gas)
    else:
        price = evm_tx.max_fee_per_gas
    result["gasPrice"] = qty(price)
    return result


def serialize_log(log: EvmLog, header: Header, tx_hash: bytes, tx_index: int, log_index: int) -> dict:
    return {
        "address": to_checksum_address(log.address),
        "topics": [data(topic) for topic in log.topics],
        "data": data(log.data),
        "blockNumber": qty(header.number),
        "blockHash": data(header.hash),
        "blockTimestamp": qty(header.timestamp),
        "transactionHash": data(tx_hash),
        "transactionIndex": qty(tx_index),
        "logIndex": qty(log_index),
        "removed": False,
    }


def serialize_eth_receipt(
    receipt: Receipt, tx: EthTransaction, header: Header, index: int, first_log_index: int, cumulative_gas: int
) -> dict:
    """`first_log_index`: logs of the block's earlier transactions; `cumulative_gas`: the gas used
    in the block up to and including this transaction (ledger transactions use none)."""
    evm = receipt.evm
    logs = evm.logs if evm is not None else ()
    evm_tx = tx.evm_tx
    price = min(evm_tx.max_priority_fee_per_gas + header.base_fee_per_gas, evm_tx.max_fee_per_gas)
    return {
        "transactionHash": data(receipt.tx_hash),
        "transactionIndex": qty(index),
        "blockHash": data(header.hash),
        "blockNumber": qty(header.number),
        "from": to_checksum_address(receipt.sender),
        "to": _address(bytes(evm_tx.to)),
        "cumulativeGasUsed": qty(cumulative_gas),
        "gasUsed": qty(evm.gas_used if evm is not None else 0),
        "effectiveGasPrice": qty(price),
        "contractAddress": _address(evm.contract_address) if evm is not None else None,
        "logs": [serialize_log(log, header, receipt.tx_hash, index, first_log_index + i) for i, log in enumerate(logs)],
        "logsBloom": data(logs_bloom(logs).to_bytes(256, "big")),
        "type": qty(tx.type_id),
        "status": qty(receipt.status),
    }
