"""JSON Schemas for the execution-apis shapes a wallet reads (ethereum/execution-apis,
src/schemas: base-types, block, receipt, transaction), written out here for the types the node
returns, as draft 2020-12 schemas that jsonschema checks. Receipts and logs are closed
(additionalProperties: false) as in the spec."""

from __future__ import annotations

UINT = {"type": "string", "pattern": "^0x(0|[1-9a-f][0-9a-f]*)$"}
BYTE = {"type": "string", "pattern": "^0x([0-9a-fA-F]?){1,2}$"}
BYTES = {"type": "string", "pattern": "^0x[0-9a-f]*$"}
HASH32 = {"type": "string", "pattern": "^0x[0-9a-f]{64}$"}
BYTES8 = {"type": "string", "pattern": "^0x[0-9a-f]{16}$"}
BYTES256 = {"type": "string", "pattern": "^0x[0-9a-f]{512}$"}
ADDRESS = {"type": "string", "pattern": "^0x[0-9a-fA-F]{40}$"}
NULLABLE_ADDRESS = {"oneOf": [{"type": "null"}, ADDRESS]}

LOG = {
    "type": "object",
    "required": ["transactionHash"],
    "additionalProperties": False,
    "properties": {
        "removed": {"type": "boolean"},
        "logIndex": UINT,
        "transactionIndex": UINT,
        "transactionHash": HASH32,
        "blockHash": HASH32,
        "blockNumber": UINT,
        "blockTimestamp": UINT,
        "address": ADDRESS,
        "data": BYTES,
        "topics": {"type": "array", "items": HASH32},
    },
}

RECEIPT = {
    "type": "object",
    "required": [
        "blockHash", "blockNumber", "from", "cumulativeGasUsed", "gasUsed", "logs", "logsBloom",
        "transactionHash", "transactionIndex", "effectiveGasPrice",
    ],
    "additionalProperties": False,
    "properties": {
        "type": BYTE,
        "transactionHash": HASH32,
        "transactionIndex": UINT,
        "blockHash": HASH32,
        "blockNumber": UINT,
        "from": ADDRESS,
        "to": NULLABLE_ADDRESS,
        "cumulativeGasUsed": UINT,
        "gasUsed": UINT,
        "contractAddress": NULLABLE_ADDRESS,
        "logs": {"type": "array", "items": LOG},
        "logsBloom": BYTES256,
        "status": UINT,
        "effectiveGasPrice": UINT,
    },
}  # fmt: skip

ACCESS_LIST = {
    "type": "array",
    "items": {
        "type": "object",
        "additionalProperties": False,
        "required": ["address", "storageKeys"],
        "properties": {"address": ADDRESS, "storageKeys": {"type": "array", "items": HASH32}},
    },
}
_COMMON = {"nonce": UINT, "to": NULLABLE_ADDRESS, "gas": UINT, "value": UINT, "input": BYTES, "chainId": UINT,
           "gasPrice": UINT, "r": UINT, "s": UINT}  # fmt: skip
TX_1559 = {
    "type": "object",
    "required": ["type", "nonce", "gas", "value", "input", "maxFeePerGas", "maxPriorityFeePerGas", "gasPrice",
                 "chainId", "accessList", "yParity", "r", "s"],
    "properties": {**_COMMON, "type": {"type": "string", "pattern": "^0x2$"}, "maxFeePerGas": UINT,
                   "maxPriorityFeePerGas": UINT, "accessList": ACCESS_LIST, "yParity": BYTE, "v": BYTE},
}  # fmt: skip
TX_2930 = {
    "type": "object",
    "required": ["type", "nonce", "gas", "value", "input", "gasPrice", "chainId", "accessList", "yParity", "r", "s"],
    "properties": {**_COMMON, "type": {"type": "string", "pattern": "^0x1$"}, "accessList": ACCESS_LIST,
                   "yParity": BYTE, "v": BYTE},
}  # fmt: skip
TX_LEGACY = {
    "type": "object",
    "required": ["type", "nonce", "gas", "value", "input", "gasPrice", "v", "r", "s"],
    "properties": {**_COMMON, "type": {"type": "string", "pattern": "^0x0$"}, "v": UINT},
}
TX_SIGNED = {"oneOf": [TX_1559, TX_2930, TX_LEGACY]}
TX_INFO = {
    "allOf": [
        {
            "required": ["blockHash", "blockNumber", "blockTimestamp", "from", "hash", "transactionIndex"],
            "properties": {
                "blockHash": HASH32,
                "blockNumber": UINT,
                "blockTimestamp": UINT,
                "from": ADDRESS,
                "hash": HASH32,
                "transactionIndex": UINT,
            },
        },
        TX_SIGNED,
    ]
}

BLOCK = {
    "type": "object",
    "required": [
        "parentHash", "sha3Uncles", "miner", "stateRoot", "transactionsRoot", "receiptsRoot", "logsBloom", "number",
        "gasLimit", "gasUsed", "timestamp", "extraData", "mixHash", "nonce", "size", "transactions", "uncles",
    ],
    "properties": {
        "parentHash": HASH32, "sha3Uncles": HASH32, "miner": ADDRESS, "stateRoot": HASH32, "transactionsRoot": HASH32,
        "receiptsRoot": HASH32, "logsBloom": BYTES256, "difficulty": BYTES, "number": UINT, "gasLimit": UINT,
        "gasUsed": UINT, "timestamp": UINT, "extraData": BYTES, "mixHash": HASH32, "nonce": BYTES8,
        "baseFeePerGas": UINT, "size": UINT,
        "transactions": {"anyOf": [{"type": "array", "items": HASH32}, {"type": "array", "items": TX_SIGNED}]},
        "uncles": {"type": "array", "items": HASH32},
    },
}  # fmt: skip

FEE_HISTORY = {
    "type": "object",
    "required": ["oldestBlock", "baseFeePerGas", "gasUsedRatio"],
    "properties": {
        "oldestBlock": UINT,
        "baseFeePerGas": {"type": "array", "items": UINT},
        "gasUsedRatio": {"type": "array", "items": {"type": "number"}},
        "reward": {"type": "array", "items": {"type": "array", "items": UINT}},
    },
}
