"""Demo traffic for `qenex devnet`: signed payments between dev accounts, sent over JSON-RPC.

It goes through the same path as any wallet (local signing, eth_sendRawTransaction), so a
devnet shows blocks being made and receipts, journals and balances changing.
"""

from __future__ import annotations

import asyncio
import os
import random

import aiohttp

from ledger.currency import format_amount
from ledger.transfer import Transfer
from ledger.tx import LedgerTransaction


async def _call(session: aiohttp.ClientSession, url: str, method: str, *params: object) -> object:
    async with session.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}) as reply:
        body = await reply.json()
    if "error" in body:
        raise RuntimeError(f"{method}: {body['error']['message']}")
    return body["result"]


async def watch_blocks(url: str, poll_seconds: float = 0.25) -> None:
    """Print each new block as it is committed: number, transactions, state root."""
    async with aiohttp.ClientSession() as session:
        seen = int(await _call(session, url, "eth_blockNumber"), 16)
        while True:
            await asyncio.sleep(poll_seconds)
            try:
                head = int(await _call(session, url, "eth_blockNumber"), 16)
                for number in range(seen + 1, head + 1):
                    block = await _call(session, url, "eth_getBlockByNumber", hex(number), False)
                    print(
                        f"block {number}: {len(block['transactions'])} transaction(s), "
                        f"stateRoot {block['stateRoot'][:18]}…",
                        flush=True,
                    )
                seen = head
            except (RuntimeError, aiohttp.ClientError):
                continue


async def traffic(url: str, listing: list[dict], interval: float) -> None:
    """Send a small random payment between two dev keys every `interval` seconds, forever."""
    rng = random.Random()
    async with aiohttp.ClientSession() as session:
        chain_id = int(await _call(session, url, "eth_chainId"), 16)
        while True:
            await asyncio.sleep(interval)
            payer, payee = rng.sample(listing, 2) if len(listing) > 1 else (listing[0], listing[0])
            slot = rng.randrange(len(payer["accounts"]))
            debit, credit = payer["accounts"][slot], payee["accounts"][slot]
            if debit["id"] == credit["id"]:
                continue
            amount = rng.randrange(100, 50_000)
            try:
                nonce = int(await _call(session, url, "eth_getTransactionCount", payer["address"], "pending"), 16)
                transfer = Transfer(
                    id=int.from_bytes(os.urandom(16), "big") or 1,
                    debit_account_id=debit["id"],
                    credit_account_id=credit["id"],
                    amount=amount,
                    currency=debit["currency"],
                )
                key = bytes.fromhex(payer["private_key"][2:])
                raw = LedgerTransaction(chain_id, nonce, (transfer,)).sign(key).encode()
                tx_hash = await _call(session, url, "eth_sendRawTransaction", "0x" + raw.hex())
            except (RuntimeError, aiohttp.ClientError) as exc:
                print(f"demo payment not sent: {exc}", flush=True)
                continue
            print(
                f"payment {format_amount(amount, 2)} {debit['currency']} {debit['id']} -> {credit['id']}  tx {tx_hash}",
                flush=True,
            )
