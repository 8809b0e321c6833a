"""The JSON-RPC methods a node serves, bound to a running Node.

Ethereum methods keep the execution-apis shapes; qenex_ methods expose the ledger. Params
are validated here and a bad one names itself (-32602).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from eth_utils import to_checksum_address

from ledger.codec import encode_account
from ledger.commitment import leaf_hash
from ledger.store import account_leaf_key
from ledger.tx import decode_transaction
from node import governance
from node.block import Block
from node.execution import TransactionRejected
from node.explorer.rpc import ValidatorStatsMethod
from node.rpc.errors import (
    INVALID_INPUT,
    LIMIT_EXCEEDED,
    RESOURCE_NOT_FOUND,
    TRANSACTION_REJECTED,
    RpcError,
    invalid_params,
)
from node.rpc.serialize import (
    data,
    qty,
    serialize_block,
    serialize_journal_entry,
    serialize_receipt,
    serialize_stored_transfer,
    serialize_transaction,
)
from node.screening.rpc import methods as screening_methods

if TYPE_CHECKING:
    from node.service import Node

CLIENT_VERSION = "qenex/0.1.0/python"
_HEX = re.compile(r"^0x[0-9a-fA-F]*$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_QUANTITY = re.compile(r"^0x(0|[1-9a-fA-F][0-9a-fA-F]*)$")
_TRANSFER_ID = re.compile(r"^(0x[0-9a-fA-F]{1,32}|[0-9]{1,39})$")
BLOCK_TAGS = ("latest", "earliest", "pending", "safe", "finalized")


def _param(params: list, index: int, name: str, required: bool = True, default: Any = None) -> Any:
    if index < len(params):
        return params[index]
    if required:
        raise invalid_params(f"missing parameter {index} ({name})")
    return default


def _hex_bytes(value: object, name: str, length: int | None = None) -> bytes:
    if not isinstance(value, str) or not _HEX.fullmatch(value) or len(value) % 2:
        raise invalid_params(f"{name} must be 0x-prefixed hex with an even number of digits")
    raw = bytes.fromhex(value[2:])
    if length is not None and len(raw) != length:
        raise invalid_params(f"{name} must be {length} bytes")
    return raw


def _address(value: object, name: str = "address") -> str:
    if not isinstance(value, str) or not _ADDRESS.fullmatch(value):
        raise invalid_params(f"{name} must be a 20-byte 0x address")
    return to_checksum_address(value)


def _bool(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise invalid_params(f"{name} must be true or false")
    return value


def _transfer_id(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**128:
        return value
    if not isinstance(value, str) or not _TRANSFER_ID.fullmatch(value):
        raise invalid_params("transfer id must be 0x hex (up to 16 bytes) or a decimal string")
    number = int(value, 16) if value.startswith("0x") else int(value)
    if not 0 < number < 2**128:
        raise invalid_params("transfer id must be a non-zero u128")
    return number


class RpcMethods:
    def __init__(self, node: Node) -> None:
        self.node = node

    @property
    def chain(self):  # noqa: ANN201 - the node.chain.Chain of the node
        return self.node.chain

    def table(self) -> dict:
        from node.rpc.eth import EthRpc  # the EVM's methods; they hand ledger transactions back to these

        ledger = {
            "web3_clientVersion": lambda p: CLIENT_VERSION,
            "net_version": lambda p: str(self.node.genesis.chain_id),
            "net_listening": lambda p: True,
            "net_peerCount": lambda p: qty(self.node.consensus.peer_count() if self.node.consensus else 0),
            "eth_chainId": lambda p: qty(self.node.genesis.chain_id),
            "eth_syncing": self.syncing,
            "eth_accounts": lambda p: [],
            "eth_gasPrice": lambda p: qty(self.node.genesis.block.base_fee_per_gas),
            "eth_blockNumber": lambda p: qty(self.chain.height),
            "eth_getBlockByNumber": self.get_block_by_number,
            "eth_getBlockByHash": self.get_block_by_hash,
            "eth_getBlockTransactionCountByNumber": self.block_tx_count_by_number,
            "eth_getBlockTransactionCountByHash": self.block_tx_count_by_hash,
            "eth_sendRawTransaction": self.send_raw_transaction,
            "eth_getTransactionByHash": self.get_transaction_by_hash,
            "eth_getTransactionReceipt": self.get_transaction_receipt,
            "eth_getTransactionCount": self.get_transaction_count,
            "qenex_getAccount": self.get_account,
            "qenex_getBalances": self.get_balances,
            "qenex_getTransfer": self.get_transfer,
            "qenex_getJournal": self.get_journal,
            "qenex_getSupply": self.get_supply,
            "qenex_getCurrencies": self.get_currencies,
            "qenex_getChainInfo": self.get_chain_info,
            "qenex_getAccountProof": self.get_account_proof,
            "qenex_cacheStatus": lambda p: self.node.balances.status(),
            "qenex_cacheVerify": lambda p: self.node.balances.verify().as_json(),
            "qenex_mempoolStatus": lambda p: {"pending": qty(len(self.node.mempool))},
            **screening_methods(self.node),
            "qenex_consensusStatus": self.consensus_status,
            "qenex_getValidatorStats": ValidatorStatsMethod(self.node),
            "qenex_getValidators": self.get_validators,
            "qenex_getValidatorProposals": lambda p: [
                governance.describe_proposal(key[3:], value) for key, value in self.chain.ledger.records(b"gp:")
            ],
            "qenex_getEvidence": lambda p: [
                governance.describe_evidence(value) for _, value in self.chain.ledger.records(b"ev:")
            ],
        }
        return ledger | EthRpc(self, ledger).table()

    def syncing(self, params: list) -> dict | bool:
        """False when caught up, else the execution-apis sync object (block sync from peers)."""
        status = self.node.consensus.sync_status() if self.node.consensus is not None else None
        if status is None:
            return False
        starting, current, highest = status
        return {"startingBlock": qty(starting), "currentBlock": qty(current), "highestBlock": qty(highest)}

    # --- blocks --------------------------------------------------------------------------------

    def _block_number(self, tag: object) -> int | None:
        if tag in ("latest", "pending", "safe", "finalized"):
            return self.chain.height  # BFT finality: the latest block is final
        if tag == "earliest":
            return 0
        if isinstance(tag, str) and _QUANTITY.fullmatch(tag):
            number = int(tag, 16)
            return number if number <= self.chain.height else None
        raise invalid_params(f"block must be a hex number or one of {', '.join(BLOCK_TAGS)}")

    def _block_json(self, block: Block, full: bool) -> dict:
        transactions = None
        if full:
            transactions = []
            for index, raw in enumerate(block.transactions):
                tx = decode_transaction(raw)
                transactions.append(
                    serialize_transaction(tx, tx.hash, tx.sender(), self.node.genesis.exponents, block.header, index)
                )
        return serialize_block(block, full, transactions)

    def get_block_by_number(self, params: list) -> dict | None:
        number = self._block_number(_param(params, 0, "block"))
        full = _bool(_param(params, 1, "full transactions", False, False), "full transactions")
        return None if number is None else self._block_json(self.chain.block(number), full)

    def get_block_by_hash(self, params: list) -> dict | None:
        number = self.chain.block_number_by_hash(_hex_bytes(_param(params, 0, "block hash"), "block hash", 32))
        full = _bool(_param(params, 1, "full transactions", False, False), "full transactions")
        return None if number is None else self._block_json(self.chain.block(number), full)

    def block_tx_count_by_number(self, params: list) -> str | None:
        number = self._block_number(_param(params, 0, "block"))
        return None if number is None else qty(len(self.chain.block(number).transactions))

    def block_tx_count_by_hash(self, params: list) -> str | None:
        number = self.chain.block_number_by_hash(_hex_bytes(_param(params, 0, "block hash"), "block hash", 32))
        return None if number is None else qty(len(self.chain.block(number).transactions))

    # --- transactions ----------------------------------------------------------------------------

    def send_raw_transaction(self, params: list) -> str:
        raw = _hex_bytes(_param(params, 0, "raw transaction"), "raw transaction")
        try:
            signed = self.node.admit(raw)
        except TransactionRejected as rejected:
            if rejected.rule == "malformed":
                raise RpcError(INVALID_INPUT, rejected.message, {"rule": rejected.rule}) from None
            if rejected.rule in ("mempool_full", "sender_limit"):
                raise RpcError(LIMIT_EXCEEDED, rejected.message, {"rule": rejected.rule}) from None
            raise RpcError(TRANSACTION_REJECTED, rejected.message, {"rule": rejected.rule}) from None
        return data(signed.hash)

    def get_transaction_by_hash(self, params: list) -> dict | None:
        tx_hash = _hex_bytes(_param(params, 0, "transaction hash"), "transaction hash", 32)
        location = self.chain.locate_transaction(tx_hash)
        exponents = self.node.genesis.exponents
        if location is None:
            pending = self.node.mempool.get(tx_hash)
            if pending is None:
                return None
            return serialize_transaction(pending.tx, pending.hash, pending.sender, exponents)
        header = self.chain.header(location.block_number)
        tx = decode_transaction(self.chain.transaction(location))
        return serialize_transaction(tx, tx_hash, tx.sender(), exponents, header, location.index)

    def get_transaction_receipt(self, params: list) -> dict | None:
        tx_hash = _hex_bytes(_param(params, 0, "transaction hash"), "transaction hash", 32)
        location = self.chain.locate_transaction(tx_hash)
        if location is None:
            return None
        header = self.chain.header(location.block_number)
        receipt = self.chain.receipt(location)
        return serialize_receipt(receipt, header, location.index, self.node.genesis.exponents)

    def get_transaction_count(self, params: list) -> str:
        address = _address(_param(params, 0, "address"))
        tag = _param(params, 1, "block", False, "latest")
        nonce = self.chain.ledger.nonce(address)
        if tag == "pending":
            return qty(nonce + self.node.mempool.pending_count(address))
        if tag not in ("latest", "safe", "finalized") and self._block_number(tag) != self.chain.height:
            raise RpcError(RESOURCE_NOT_FOUND, "this node keeps the latest state only; ask for 'latest'")
        return qty(nonce)

    # --- ledger ------------------------------------------------------------------------------

    def _account_id(self, value: object) -> str:
        if not isinstance(value, str) or not 0 < len(value) <= 64:
            raise invalid_params("account id must be a string of 1..64 characters")
        return value.replace(" ", "").upper() if value[:2].isalpha() and value[2:4].isdigit() else value

    def get_account(self, params: list) -> dict | None:
        account = self.chain.ledger.account(self._account_id(_param(params, 0, "account id")))
        return None if account is None else self.node.balances.accounts_json([account], self.node.genesis.exponents)[0]

    def get_balances(self, params: list) -> list[dict]:
        owner = _address(_param(params, 0, "owner address"), "owner address")
        return self.node.balances.accounts_json(self.chain.ledger.accounts_of(owner), self.node.genesis.exponents)

    def get_transfer(self, params: list) -> dict | None:
        stored = self.chain.ledger.transfer(_transfer_id(_param(params, 0, "transfer id")))
        return None if stored is None else serialize_stored_transfer(stored, self.node.genesis.exponents)

    def get_journal(self, params: list) -> dict:
        account_id = self._account_id(_param(params, 0, "account id"))
        options = _param(params, 1, "options", False, {}) or {}
        if not isinstance(options, dict):
            raise invalid_params("options must be an object {limit, cursor, order}")
        limit = options.get("limit", 50)
        if not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise invalid_params("limit must be an integer in 1..1000")
        order = options.get("order", "desc")
        if order not in ("asc", "desc"):
            raise invalid_params("order must be 'asc' or 'desc'")
        cursor = options.get("cursor")
        after = None
        if cursor is not None:
            if not isinstance(cursor, str) or not re.fullmatch(r"[0-9]{1,20}:[0-9]{1,10}", cursor):
                raise invalid_params("cursor must be the nextCursor of a previous page ('block:sequence')")
            block_text, sequence_text = cursor.split(":")
            after = (int(block_text), int(sequence_text))
        if self.chain.ledger.account(account_id) is None:
            raise RpcError(RESOURCE_NOT_FOUND, f"account {account_id} does not exist")
        entries = self.chain.ledger.account_journal(account_id, after, limit, newest_first=order == "desc")
        exponents = self.node.genesis.exponents
        next_cursor = f"{entries[-1].block_number}:{entries[-1].sequence}" if len(entries) == limit else None
        return {"entries": [serialize_journal_entry(e, exponents) for e in entries], "nextCursor": next_cursor}

    def get_supply(self, params: list) -> list[dict]:
        wanted = _param(params, 0, "currency", False, None)
        genesis = self.node.genesis
        result = []
        for currency in genesis.currencies:
            if wanted is not None and currency.code != wanted:
                continue
            totals = self.chain.ledger.currency_totals(currency.code)
            issuance = self.chain.ledger.account(genesis.issuance[currency.code])
            issued = -issuance.balance_posted if issuance is not None else 0
            result.append(
                {
                    "currency": currency.code,
                    "exponent": currency.exponent,
                    "issuanceAccount": genesis.issuance[currency.code],
                    "issued": str(issued),
                    "issuedFormatted": currency.format(issued),
                    "debitsPosted": str(totals.debits_posted),
                    "creditsPosted": str(totals.credits_posted),
                    "debitsPending": str(totals.debits_pending),
                    "creditsPending": str(totals.credits_pending),
                    "balanced": totals.debits_posted == totals.credits_posted
                    and totals.debits_pending == totals.credits_pending,
                }
            )
        if wanted is not None and not result:
            raise invalid_params(f"currency {wanted!r} is not on this chain")
        return result

    def get_currencies(self, params: list) -> list[dict]:
        return [{"code": c.code, "exponent": c.exponent} for c in self.node.genesis.currencies]

    def get_chain_info(self, params: list) -> dict:
        genesis = self.node.genesis
        return {
            "chainId": qty(genesis.chain_id),
            "genesisHash": data(self.chain.header(0).hash),
            "height": qty(self.chain.height),
            "blockIntervalMs": genesis.block.interval_ms,
            "validators": [{"name": v.name, "address": v.address, "power": v.power} for v in genesis.validators],
            "roles": [{"role": r.role, "holder": r.holder, "namespace": r.namespace} for r in genesis.roles],
            "currencies": self.get_currencies([]),
        }

    def get_validators(self, params: list) -> dict:
        """The set deciding block `height` (default: the next block)."""
        wanted = params[0] if params else None
        if wanted is None:
            height = self.chain.height + 1
        elif isinstance(wanted, int) and not isinstance(wanted, bool) and 0 <= wanted < 2**63:
            height = wanted
        elif isinstance(wanted, str) and _QUANTITY.fullmatch(wanted):
            height = int(wanted, 16)
        else:
            height = self._block_number(wanted)
        if height is None:
            raise invalid_params("height must be a block number (hex or integer) or a tag")
        members = governance.members_at(self.chain.ledger, self.node.genesis, height)
        return {
            "height": height,
            "totalPower": sum(m.power for m in members),
            "validators": [
                {"address": to_checksum_address(m.address), "power": m.power, "publicKey": data(m.public_key)}
                for m in members
            ],
        }

    def consensus_status(self, params: list) -> dict:
        """Where this node's consensus is: for operators, probes and the fault tests."""
        driver = self.node.consensus
        if driver is None:
            raise RpcError(RESOURCE_NOT_FOUND, "consensus is not running in this process (a node opened by a tool)")
        return driver.status()

    def get_account_proof(self, params: list) -> dict:
        account_id = self._account_id(_param(params, 0, "account id"))
        ledger = self.chain.ledger
        key = account_leaf_key(account_id)
        proof = ledger.proof(key)
        account = ledger.account(account_id)
        value = encode_account(account) if account else None
        return {
            "stateRoot": data(ledger.root),
            "blockNumber": qty(self.chain.height),
            "key": data(key),
            "value": data(value) if value else None,
            "leafHash": data(leaf_hash(key, value)) if value else None,
            "bucket": proof.bucket,
            "bucketLeaves": [[data(k), data(v)] for k, v in sorted(proof.leaves.items())],
            "siblings": [data(s) for s in proof.siblings],
        }
