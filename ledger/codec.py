"""RLP encodings of ledger records, for the store and for the state commitment.

One encoding per record: the bytes stored in LevelDB are the bytes the commitment hashes,
so a proof of an account is a proof of exactly what the node serves.
"""

from __future__ import annotations

import functools

import rlp
from eth_utils import to_checksum_address

from ledger import rlp_encode
from ledger.account import Account, AccountFlags, AccountStatus
from ledger.journal import JournalEntry, Posting, PostingKind
from ledger.transfer import PendingStatus, StoredTransfer, Transfer, TransferFlags


def int_to_bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big") if value else b""


def bytes_to_int(data: bytes) -> int:
    return int.from_bytes(data, "big")


def address_bytes(address: str) -> bytes:
    return bytes.fromhex(address[2:])


@functools.lru_cache(maxsize=65_536)
def checksum_address(address: bytes) -> str:
    """EIP-55 text of a 20-byte address, cached: a node sees the same senders and owners again
    and again, and eth_utils' checksum costs ~40 µs."""
    return to_checksum_address(address)


def transfer_fields(t: Transfer) -> list:
    return [
        int_to_bytes(t.id),
        t.debit_account_id.encode(),
        t.credit_account_id.encode(),
        int_to_bytes(t.amount),
        t.currency.encode(),
        int_to_bytes(t.code),
        int_to_bytes(int(t.flags)),
        int_to_bytes(t.pending_id),
        int_to_bytes(t.timeout_seconds),
        t.fx_rate.encode(),
    ]


def transfer_from_fields(f: list) -> Transfer:
    return Transfer(
        id=bytes_to_int(f[0]),
        debit_account_id=f[1].decode(),
        credit_account_id=f[2].decode(),
        amount=bytes_to_int(f[3]),
        currency=f[4].decode(),
        code=bytes_to_int(f[5]),
        flags=TransferFlags(bytes_to_int(f[6])),
        pending_id=bytes_to_int(f[7]),
        timeout_seconds=bytes_to_int(f[8]),
        fx_rate=f[9].decode(),
    )


def encode_account(a: Account) -> bytes:
    return rlp_encode.encode(
        [
            a.id.encode(),
            a.currency.encode(),
            address_bytes(a.owner),
            int_to_bytes(int(a.flags)),
            int_to_bytes(a.overdraft_limit),
            int_to_bytes(int(a.status)),
            int_to_bytes(a.debits_pending),
            int_to_bytes(a.debits_posted),
            int_to_bytes(a.credits_pending),
            int_to_bytes(a.credits_posted),
        ]
    )


def decode_account(data: bytes) -> Account:
    f = rlp.decode(data)
    return Account(
        id=f[0].decode(),
        currency=f[1].decode(),
        owner=checksum_address(f[2]),
        flags=AccountFlags(bytes_to_int(f[3])),
        overdraft_limit=bytes_to_int(f[4]),
        status=AccountStatus(bytes_to_int(f[5])),
        debits_pending=bytes_to_int(f[6]),
        debits_posted=bytes_to_int(f[7]),
        credits_pending=bytes_to_int(f[8]),
        credits_posted=bytes_to_int(f[9]),
    )


def encode_stored_transfer(s: StoredTransfer) -> bytes:
    return rlp_encode.encode(
        [
            transfer_fields(s.transfer),
            int_to_bytes(s.block_number),
            s.tx_hash,
            int_to_bytes(s.timestamp),
            int_to_bytes(int(s.status)),
            int_to_bytes(s.expires_at),
            int_to_bytes(s.amount_posted),
        ]
    )


def decode_stored_transfer(data: bytes) -> StoredTransfer:
    f = rlp.decode(data)
    return StoredTransfer(
        transfer=transfer_from_fields(f[0]),
        block_number=bytes_to_int(f[1]),
        tx_hash=f[2],
        timestamp=bytes_to_int(f[3]),
        status=PendingStatus(bytes_to_int(f[4])),
        expires_at=bytes_to_int(f[5]),
        amount_posted=bytes_to_int(f[6]),
    )


def posting_fields(p: Posting) -> list:
    return [
        int_to_bytes(int(p.kind)),
        int_to_bytes(p.transfer_id),
        p.debit_account_id.encode(),
        p.credit_account_id.encode(),
        int_to_bytes(p.amount),
        p.currency.encode(),
        int_to_bytes(p.code),
        int_to_bytes(p.pending_id),
        int_to_bytes(p.released),
        p.fx_rate.encode(),
    ]


def posting_from_fields(f: list) -> Posting:
    return Posting(
        kind=PostingKind(bytes_to_int(f[0])),
        transfer_id=bytes_to_int(f[1]),
        debit_account_id=f[2].decode(),
        credit_account_id=f[3].decode(),
        amount=bytes_to_int(f[4]),
        currency=f[5].decode(),
        code=bytes_to_int(f[6]),
        pending_id=bytes_to_int(f[7]),
        released=bytes_to_int(f[8]),
        fx_rate=f[9].decode(),
    )


def encode_journal_entry(e: JournalEntry) -> bytes:
    return rlp_encode.encode(
        [
            int_to_bytes(e.block_number),
            int_to_bytes(e.tx_index + 1),
            e.tx_hash,
            int_to_bytes(e.sequence),
            posting_fields(e.posting),
        ]
    )


def decode_journal_entry(data: bytes) -> JournalEntry:
    f = rlp.decode(data)
    return JournalEntry(
        block_number=bytes_to_int(f[0]),
        tx_index=bytes_to_int(f[1]) - 1,
        tx_hash=f[2],
        sequence=bytes_to_int(f[3]),
        posting=posting_from_fields(f[4]),
    )
