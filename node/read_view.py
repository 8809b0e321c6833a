"""A read-only view of committed account data for RPC worker processes (`--rpc-workers N`).

Why: LevelDB admits one process, so workers cannot open the ledger. They read balances from the
shared cache (kernel/) and the rest of an account (owner, flags, totals) from this view: a SQLite
database in WAL mode (the standard library's; one writer, any number of concurrent readers in
other processes), which the node brings to the committed state after each block, in the same
pass that updates the cache. Rows hold the account's RPC JSON, so a worker answers exactly what
the node would. Committed blocks (both eth_getBlockBy* forms), their transactions and receipts are
kept the same way, from `floor` on (the node stores the recent blocks when the view opens, then
every new one), and land in the same SQLite transaction as the accounts and the height, so a
worker never sees a height whose block it cannot serve.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ledger.account import Account
from node.rpc.serialize import serialize_account

ACCOUNTS_PER_OWNER_MAX = 1000  # as LedgerStore.accounts_of
SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (id TEXT PRIMARY KEY, owner TEXT NOT NULL, json TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS accounts_owner ON accounts (owner, id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blocks (number INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE, json TEXT NOT NULL,
                                   full_json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS txs (hash TEXT PRIMARY KEY, json TEXT NOT NULL, receipt TEXT NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class BlockRows:
    """One committed block as the node's JSON-RPC answers it."""

    number: int
    hash: str  # 0x hex
    json: dict  # eth_getBlockByNumber(n, false)
    full_json: dict  # eth_getBlockByNumber(n, true)
    transactions: tuple[tuple[str, dict, dict], ...]  # (hash, eth_getTransactionByHash, eth_getTransactionReceipt)


def view_path(home: Path) -> Path:
    return home / "cache" / "view.sqlite"


class ReadViewWriter:
    """The node's side: replace or upsert committed accounts, with the height they are at."""

    def __init__(self, path: Path, exponents: dict[str, int]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.exponents = exponents
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=OFF")  # a copy: rebuilt from the ledger on every start
        self.db.executescript(SCHEMA)

    def replace_all(self, accounts: Iterable[Account], height: int, blocks: Iterable[BlockRows] = ()) -> None:
        blocks = list(blocks)
        with self.db:
            self.db.execute("BEGIN")
            for table in ("accounts", "blocks", "txs"):
                self.db.execute(f"DELETE FROM {table}")
            floor = blocks[0].number if blocks else height + 1
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('floor', ?)", (str(floor),))
            self._put(accounts, height, blocks)

    def update(self, accounts: Iterable[Account], height: int, blocks: Iterable[BlockRows] = ()) -> None:
        with self.db:
            self.db.execute("BEGIN")
            self._put(accounts, height, list(blocks))

    def _put(self, accounts: Iterable[Account], height: int, blocks: list[BlockRows]) -> None:
        assert all(b.number <= height for b in blocks), "blocks are stored with the height that covers them"
        rows = [(a.id, a.owner.lower(), json.dumps(serialize_account(a, self.exponents))) for a in accounts]
        self.db.executemany("INSERT OR REPLACE INTO accounts VALUES (?, ?, ?)", rows)
        self.db.executemany(
            "INSERT OR REPLACE INTO blocks VALUES (?, ?, ?, ?)",
            [(b.number, b.hash, json.dumps(b.json), json.dumps(b.full_json)) for b in blocks],
        )
        self.db.executemany(
            "INSERT OR REPLACE INTO txs VALUES (?, ?, ?)",
            [(h, json.dumps(tx), json.dumps(receipt)) for b in blocks for h, tx, receipt in b.transactions],
        )
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('height', ?)", (str(height),))

    def close(self) -> None:
        self.db.close()


class ReadViewReader:
    """A worker's side: read-only, never blocks the writer."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)

    def height(self) -> int:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'height'").fetchone()
        return int(row[0]) if row else 0

    def floor(self) -> int:
        """The first block the view holds (older ones: ask the node)."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'floor'").fetchone()
        return int(row[0]) if row else 1 << 62

    def block(self, number: int | None = None, block_hash: str | None = None, full: bool = False) -> dict | None:
        column = "full_json" if full else "json"
        if block_hash is not None:
            query, key = f"SELECT {column} FROM blocks WHERE hash = ?", block_hash.lower()
        else:
            query, key = f"SELECT {column} FROM blocks WHERE number = ?", number
        row = self.db.execute(query, (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def transaction(self, tx_hash: str) -> tuple[dict, dict] | None:
        """(transaction, receipt) of a committed transaction the view holds."""
        row = self.db.execute("SELECT json, receipt FROM txs WHERE hash = ?", (tx_hash.lower(),)).fetchone()
        return None if row is None else (json.loads(row[0]), json.loads(row[1]))

    def accounts_of(self, owner: str) -> list[dict]:
        rows = self.db.execute(
            "SELECT json FROM accounts WHERE owner = ? ORDER BY id LIMIT ?", (owner.lower(), ACCOUNTS_PER_OWNER_MAX)
        ).fetchall()
        return [json.loads(row[0]) for row in rows]

    def account(self, account_id: str) -> dict | None:
        row = self.db.execute("SELECT json FROM accounts WHERE id = ?", (account_id,)).fetchone()
        return None if row is None else json.loads(row[0])

    def close(self) -> None:
        self.db.close()
