"""JSON-RPC methods of fraud screening (registered into node/rpc/methods.py's table).

  qenex_getHeldTransactions []                          the review queue
  qenex_getReviewStatus [txHash]                        held / released / rejected / expired
  qenex_reviewHeldTransaction [txHash, decision, sig]   compliance: "release" or "reject"
  qenex_reportFraud [transferId, sig]                   compliance: a booked transfer was fraud
  qenex_getLabelledTransfers [fromBlock, maxBlocks]     transfers with confirmed-fraud labels (export)

`sig` is a 65-byte secp256k1 signature (r || s || v, v in {0, 1, 27, 28}) over
`review.decision_message` / `review.report_message`; its signer must hold the compliance role.
The node relays a decision or report to the chain as an action (node/screening/actions.py) and
answers with the action transaction's hash; it takes effect on every node when that commits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from contracts.evm.transaction import is_ethereum_raw
from ledger.tx import Action, InvalidSignatureError, decode_transaction
from node.execution import TransactionRejected
from node.rpc.errors import RESOURCE_NOT_FOUND, TRANSACTION_REJECTED, RpcError, invalid_params
from node.rpc.serialize import data, serialize_screening
from node.screening.actions import NotCompliance, compliance_signer, decision_action, report_action
from node.screening.review import DECISIONS, decision_message, report_message

if TYPE_CHECKING:
    from node.service import Node

MAX_EXPORT_BLOCKS = 1000
DECIDED = {"release": "released", "reject": "rejected"}
SCREENING_DISABLED = -32004  # EIP-1474 "method not supported": this chain pins no model


def _param(params: list, index: int, name: str) -> Any:
    if not isinstance(params, list) or index >= len(params):
        raise invalid_params(f"missing parameter {index} ({name})")
    return params[index]


def _hex(value: object, name: str, length: int) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x") or len(value) != 2 + 2 * length:
        raise invalid_params(f"{name} must be 0x-prefixed hex of {length} bytes")
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise invalid_params(f"{name} must be 0x-prefixed hex of {length} bytes") from None


def _transfer_id(value: object) -> int:
    try:
        number = int(value, 16) if isinstance(value, str) and value.startswith("0x") else int(str(value), 10)
    except ValueError:
        raise invalid_params("transfer id must be a 0x hex or decimal u128") from None
    if not 0 < number < 2**128:
        raise invalid_params("transfer id must be a non-zero u128")
    return number


def _compliance_signer(node: Node, message: bytes, signature: bytes) -> str:
    """The signer of `message` if it holds the compliance role; else an RPC error saying why."""
    try:
        return compliance_signer(node.genesis, message, signature)
    except InvalidSignatureError as exc:
        raise invalid_params(f"signature: {exc}") from None
    except NotCompliance as exc:
        raise RpcError(TRANSACTION_REJECTED, str(exc), {"rule": "unauthorized"}) from None


def _submit(node: Node, action: Action) -> str:
    try:
        return data(node.submit_action(action).hash)
    except TransactionRejected as rejected:
        raise RpcError(TRANSACTION_REJECTED, rejected.message, {"rule": rejected.rule}) from None


def methods(node: Node) -> dict:
    """The screening methods bound to `node` (each refuses if the chain does not screen)."""

    def screener():
        if node.screening is None:
            raise RpcError(SCREENING_DISABLED, "fraud screening is not enabled on this chain (no model in genesis)")
        node.screening.expire_held()
        return node.screening

    def held(params: list) -> list[dict]:
        return [_held_json(entry) for entry in screener().queue.held()]

    def status(params: list) -> dict | None:
        """The local queue's view of a held transaction, with the decision recorded on chain."""
        s = screener()
        tx_hash = _hex(_param(params, 0, "transaction hash"), "transaction hash", 32)
        entry, decided = s.queue.get(tx_hash), s.decision(tx_hash)
        if entry is None and decided is None:
            return None
        status = {} if entry is None else _held_json(entry)
        if decided is not None:
            status.update(
                hash=data(tx_hash),
                status=DECIDED[decided.decision],
                decidedBy=decided.by,
                decidedAtBlock=decided.height,
            )
        return status

    def review(params: list) -> dict:
        """Relay a compliance decision to the chain; every node applies it when its block commits."""
        s = screener()
        tx_hash = _hex(_param(params, 0, "transaction hash"), "transaction hash", 32)
        decision = _param(params, 1, "decision")
        if decision not in DECISIONS:
            raise invalid_params(f"decision must be one of {DECISIONS}")
        signature = _hex(_param(params, 2, "signature"), "signature", 65)
        _compliance_signer(node, decision_message(node.genesis.chain_id, tx_hash, decision), signature)
        known = s.decision(tx_hash)
        if known is not None:
            raise RpcError(RESOURCE_NOT_FOUND, f"transaction 0x{tx_hash.hex()} was already {DECIDED[known.decision]}")
        if node.chain.locate_transaction(tx_hash) is not None:
            raise RpcError(RESOURCE_NOT_FOUND, f"transaction 0x{tx_hash.hex()} is already in a block")
        action_hash = _submit(node, decision_action(tx_hash, decision, signature))
        return {"hash": data(tx_hash), "decision": decision, "status": "submitted", "actionTransaction": action_hash}

    def report(params: list) -> dict:
        """Relay a confirmed-fraud report to the chain (it feeds features from the block recording it)."""
        s = screener()
        transfer_id = _transfer_id(_param(params, 0, "transfer id"))
        signature = _hex(_param(params, 1, "signature"), "signature", 65)
        _compliance_signer(node, report_message(node.genesis.chain_id, transfer_id), signature)
        if node.chain.ledger.transfer(transfer_id) is None:
            raise RpcError(RESOURCE_NOT_FOUND, f"no booked transfer {transfer_id:#x}")
        if s.reported(transfer_id):
            return {"transferId": hex(transfer_id), "status": "already_reported"}
        action_hash = _submit(node, report_action(transfer_id, signature))
        return {"transferId": hex(transfer_id), "status": "submitted", "actionTransaction": action_hash}

    def labelled(params: list) -> dict:
        s = screener()
        start = _param(params, 0, "from block") if params else 1
        count = params[1] if isinstance(params, list) and len(params) > 1 else MAX_EXPORT_BLOCKS
        if not isinstance(start, int) or not isinstance(count, int) or start < 1 or not 1 <= count <= MAX_EXPORT_BLOCKS:
            raise invalid_params(f"from block must be >= 1 and max blocks 1..{MAX_EXPORT_BLOCKS}")
        frauds = s.reported_ids()
        rows = []
        last = min(node.chain.height, start + count - 1)
        for number in range(start, last + 1):
            block = node.chain.block(number)
            for raw, receipt in zip(block.transactions, node.chain.receipts(number), strict=True):
                if not receipt.status or is_ethereum_raw(raw):
                    continue  # an Ethereum transaction's bridge postings are not export rows
                for t in decode_transaction(raw).transfers:
                    if t.is_post or t.is_void:
                        continue
                    rows.append(
                        {
                            "transferId": str(t.id),
                            "timestamp": block.header.timestamp,
                            "debitAccountId": t.debit_account_id,
                            "creditAccountId": t.credit_account_id,
                            "amount": str(t.amount),
                            "currency": t.currency,
                            "fraud": t.id in frauds,
                        }
                    )
        return {"transfers": rows, "nextBlock": last + 1 if last < node.chain.height else None}

    return {
        "qenex_getHeldTransactions": held,
        "qenex_getReviewStatus": status,
        "qenex_reviewHeldTransaction": review,
        "qenex_reportFraud": report,
        "qenex_getLabelledTransfers": labelled,
    }


def _held_json(entry: object) -> dict:
    signed = entry.signed  # type: ignore[attr-defined]
    record = entry.record  # type: ignore[attr-defined]
    return {
        "hash": data(signed.hash),
        "sender": signed.sender,
        "nonce": signed.tx.nonce,
        "status": entry.status,  # type: ignore[attr-defined]
        "decidedBy": entry.decided_by or None,  # type: ignore[attr-defined]
        "heldAt": entry.held_at,  # type: ignore[attr-defined]
        "expiresAt": entry.expires_at,  # type: ignore[attr-defined]
        "screening": serialize_screening(record),
        "raw": data(signed.raw),
    }
