"""Client-side signing for the CLI: build a ledger transfer from options, sign it locally."""

from __future__ import annotations

import argparse
import os
import time
import uuid

from ledger.currency import parse_amount
from ledger.transfer import Transfer, TransferFlags
from ledger.tx import LedgerTransaction, References, address_of_key
from node.rpc.client import RpcClient


def parse_transfer_id(text: str) -> int:
    try:
        value = int(text, 16) if text.lower().startswith("0x") else int(text)
    except ValueError:
        raise ValueError(f"transfer id {text!r} is not 0x hex or a decimal number") from None
    if not 0 < value < 2**128:
        raise ValueError(f"transfer id {text!r} must be a non-zero u128")
    return value


def build_transfer_tx(client: RpcClient, key: bytes, args: argparse.Namespace) -> tuple[bytes, dict]:
    """Ask the node for chain id, nonce and currency decimals; return the signed raw tx."""
    chain_id = int(client.call("eth_chainId"), 16)
    sender = address_of_key(key)
    nonce = int(client.call("eth_getTransactionCount", sender, "pending"), 16)
    exponents = {c["code"]: c["exponent"] for c in client.call("qenex_getCurrencies")}
    flags = TransferFlags.NONE
    pending_id = 0
    if args.post_pending and args.void_pending:
        raise ValueError("--post-pending and --void-pending exclude each other")
    if args.post_pending or args.void_pending:
        flags = TransferFlags.POST_PENDING if args.post_pending else TransferFlags.VOID_PENDING
        pending_id = parse_transfer_id(args.post_pending or args.void_pending)
        if args.pending:
            raise ValueError("--pending cannot be combined with --post-pending/--void-pending")
    else:
        missing = [name for name in ("debit", "credit", "amount", "currency") if not getattr(args, name)]
        if missing:
            raise ValueError(f"a transfer needs --{', --'.join(missing)}")
        if args.pending:
            flags = TransferFlags.PENDING
    if args.pending_timeout and not args.pending:
        raise ValueError("--timeout applies to --pending transfers only")
    currency = (args.currency or "").upper()
    if pending_id and args.amount and not currency:
        pending = client.call("qenex_getTransfer", hex(pending_id))
        if pending is None:
            raise ValueError(f"pending transfer {hex(pending_id)} does not exist on this chain")
        currency = pending["currency"]
    amount = 0
    if args.amount:
        if currency not in exponents:
            raise ValueError(f"currency {currency or '(none)'} is not on this chain; it has {', '.join(exponents)}")
        amount = parse_amount(args.amount, exponents[currency], currency)
    transfer = Transfer(
        id=parse_transfer_id(args.id) if args.id else int.from_bytes(os.urandom(16), "big") or 1,
        debit_account_id=(args.debit or "").replace(" ", ""),
        credit_account_id=(args.credit or "").replace(" ", ""),
        amount=amount,
        currency=currency,
        code=args.code,
        flags=flags,
        pending_id=pending_id,
        timeout_seconds=args.pending_timeout,
    )
    references = References(
        end_to_end_id=args.end_to_end_id,
        uetr=uuid.UUID(args.uetr).bytes if args.uetr else b"",
    )
    tx = LedgerTransaction(chain_id, nonce, (transfer,), references).sign(key)
    summary = {"from": sender, "nonce": nonce, "transferId": "0x" + transfer.id.to_bytes(16, "big").hex()}
    return tx.encode(), summary


def wait_for_receipt(client: RpcClient, tx_hash: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        receipt = client.call("eth_getTransactionReceipt", tx_hash)
        if receipt is not None:
            return receipt
        time.sleep(0.2)
    raise TimeoutError(f"no receipt for {tx_hash} after {timeout:.0f}s; it may still be in the mempool")
