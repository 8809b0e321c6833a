"""How blocks, transactions, receipts, accounts and transfers look over JSON-RPC.

Ethereum's shapes where a wallet or explorer expects them (hex quantities, 0x data), and for
ledger values: u128 quantities as decimal strings (a JavaScript number loses precision past
2^53) next to the amount formatted in its currency's decimals.
"""

from __future__ import annotations

from eth_utils import to_checksum_address

from ledger.account import Account
from ledger.currency import format_amount
from ledger.hashing import keccak
from ledger.journal import JournalEntry, Posting
from ledger.transfer import StoredTransfer, Transfer
from ledger.tx import LEDGER_TX_TYPE, LedgerTransaction
from node.block import Block, Header, Receipt, ScreeningRecord

ZERO_BLOOM = "0x" + "00" * 256
EMPTY_UNCLES = "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347"


def qty(value: int) -> str:
    return hex(value)


def data(value: bytes) -> str:
    return "0x" + value.hex()


def transfer_id_text(transfer_id: int) -> str:
    return "0x" + transfer_id.to_bytes(16, "big").hex()


def serialize_block(block: Block, full: bool, transactions: list[dict] | None = None) -> dict:
    h = block.header
    size = len(block.encode())
    return {
        "number": qty(h.number),
        "hash": data(block.hash),
        "parentHash": data(h.parent_hash),
        "nonce": "0x0000000000000000",
        "sha3Uncles": EMPTY_UNCLES,
        "logsBloom": ZERO_BLOOM,
        "transactionsRoot": data(h.transactions_root),
        "stateRoot": data(h.state_root),
        "receiptsRoot": data(h.receipts_root),
        "miner": to_checksum_address(h.proposer),
        "difficulty": "0x0",
        "totalDifficulty": "0x0",
        "extraData": data(h.extra_data),
        "size": qty(size),
        "gasLimit": qty(h.gas_limit),
        "gasUsed": qty(h.gas_used),
        "timestamp": qty(h.timestamp),
        "baseFeePerGas": qty(h.base_fee_per_gas),
        "mixHash": data(bytes(32)),
        "transactions": transactions
        if full and transactions is not None
        else [data(tx_hash) for tx_hash in _hashes(block)],
        "uncles": [],
        "commit": [data(signature) for signature in block.commit],
    }


def _hashes(block: Block) -> list[bytes]:
    return [keccak(raw) for raw in block.transactions]


def serialize_transfer(t: Transfer, exponents: dict[str, int]) -> dict:
    exponent = exponents.get(t.currency)
    return {
        "id": transfer_id_text(t.id),
        "debitAccountId": t.debit_account_id,
        "creditAccountId": t.credit_account_id,
        "amount": str(t.amount),
        "amountFormatted": format_amount(t.amount, exponent) if exponent is not None else None,
        "currency": t.currency,
        "code": t.code,
        "flags": {
            "linked": t.is_linked,
            "pending": t.is_pending,
            "postPending": t.is_post,
            "voidPending": t.is_void,
        },
        "pendingId": transfer_id_text(t.pending_id) if t.pending_id else None,
        "timeoutSeconds": t.timeout_seconds,
        "fxRate": t.fx_rate or None,
    }


def serialize_transaction(
    tx: LedgerTransaction,
    raw_hash: bytes,
    sender: str,
    exponents: dict[str, int],
    header: Header | None = None,
    index: int | None = None,
) -> dict:
    refs = tx.references
    return {
        "hash": data(raw_hash),
        "type": qty(LEDGER_TX_TYPE),
        "chainId": qty(tx.chain_id),
        "nonce": qty(tx.nonce),
        "from": sender,
        "to": None,
        "value": "0x0",
        "gas": "0x0",
        "gasPrice": "0x0",
        "input": "0x",
        "v": qty(tx.y_parity),
        "yParity": qty(tx.y_parity),
        "r": qty(tx.r),
        "s": qty(tx.s),
        "blockHash": data(header.hash) if header else None,
        "blockNumber": qty(header.number) if header else None,
        "transactionIndex": qty(index) if index is not None else None,
        "transfers": [serialize_transfer(t, exponents) for t in tx.transfers],
        "references": {
            "endToEndId": refs.end_to_end_id or None,
            "uetr": _uuid(refs.uetr),
            "messageHash": data(refs.message_hash) if refs.message_hash else None,
        },
    }


def _uuid(value: bytes) -> str | None:
    if not value:
        return None
    h = value.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def serialize_posting(p: Posting, exponents: dict[str, int]) -> dict:
    exponent = exponents.get(p.currency, 0)
    return {
        "kind": p.kind.name.lower(),
        "transferId": transfer_id_text(p.transfer_id),
        "debitAccountId": p.debit_account_id,
        "creditAccountId": p.credit_account_id,
        "amount": str(p.amount),
        "amountFormatted": format_amount(p.amount, exponent),
        "currency": p.currency,
        "code": p.code,
        "pendingId": transfer_id_text(p.pending_id) if p.pending_id else None,
        "released": str(p.released),
        "fxRate": p.fx_rate or None,
    }


def serialize_receipt(receipt: Receipt, header: Header, index: int, exponents: dict[str, int]) -> dict:
    return {
        "transactionHash": data(receipt.tx_hash),
        "transactionIndex": qty(index),
        "blockHash": data(header.hash),
        "blockNumber": qty(header.number),
        "from": to_checksum_address(receipt.sender),
        "to": None,
        "cumulativeGasUsed": "0x0",
        "gasUsed": "0x0",
        "effectiveGasPrice": qty(header.base_fee_per_gas),
        "contractAddress": None,
        "logs": [],
        "logsBloom": ZERO_BLOOM,
        "type": qty(LEDGER_TX_TYPE),
        "status": qty(receipt.status),
        "error": None
        if receipt.status
        else {
            "rule": receipt.error_rule,
            "message": receipt.error_message,
            "transferIndex": receipt.failed_transfer_index if receipt.failed_transfer_index >= 0 else None,
        },
        "postings": [serialize_posting(p, exponents) for p in receipt.postings],
        "screening": None if receipt.screening is None else serialize_screening(receipt.screening),
    }


def serialize_screening(record: ScreeningRecord) -> dict:
    return {
        "verdict": record.verdict,
        "scorePpm": record.score_ppm,
        "modelSha256": record.model_sha256.hex(),
        "topFeatures": list(record.top_features),
    }


def serialize_account(a: Account, exponents: dict[str, int]) -> dict:
    exponent = exponents.get(a.currency, 0)
    return {
        "id": a.id,
        "currency": a.currency,
        "owner": a.owner,
        "flags": {
            "debitsMustNotExceedCredits": bool(a.flags & 1),
            "creditsMustNotExceedDebits": bool(a.flags & 2),
        },
        "overdraftLimit": str(a.overdraft_limit),
        "status": a.status.name.lower(),
        "debitsPending": str(a.debits_pending),
        "debitsPosted": str(a.debits_posted),
        "creditsPending": str(a.credits_pending),
        "creditsPosted": str(a.credits_posted),
        "balance": str(a.balance_posted),
        "balanceFormatted": format_amount(a.balance_posted, exponent),
        "available": str(a.balance_available),
        "availableFormatted": format_amount(a.balance_available, exponent),
    }


def serialize_stored_transfer(s: StoredTransfer, exponents: dict[str, int]) -> dict:
    result = serialize_transfer(s.transfer, exponents)
    result.update(
        {
            "blockNumber": qty(s.block_number),
            "transactionHash": data(s.tx_hash) if s.tx_hash else None,
            "timestamp": qty(s.timestamp),
            "pendingStatus": s.status.name.lower() if s.status else None,
            "expiresAt": qty(s.expires_at) if s.expires_at else None,
            "amountPosted": str(s.amount_posted) if s.status == 2 else None,
        }
    )
    return result


def serialize_journal_entry(e: JournalEntry, exponents: dict[str, int]) -> dict:
    return {
        "blockNumber": qty(e.block_number),
        "transactionIndex": qty(e.tx_index) if e.tx_index >= 0 else None,
        "transactionHash": data(e.tx_hash) if e.tx_hash else None,
        "sequence": e.sequence,
        "posting": serialize_posting(e.posting, exponents),
    }
