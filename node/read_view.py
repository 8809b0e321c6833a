"""A read-only view of committed account data for RPC worker processes (`--rpc-workers N`).

Why: LevelDB admits one process, so workers cannot open the ledger. They read balances from the
shared cache (kernel/) and the rest of an account (owner, flags, totals) from this view: a SQLite
database in WAL mode (the standard library's; one writer, any number of concurrent readers in
other processes), which the node brings to the committed state after each block, in the same
pass that updates the cache. Rows hold the account's RPC JSON, so a worker answers exactly what
the node would.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from ledger.account import Account
from node.rpc.serialize import serialize_account

ACCOUNTS_PER_OWNER_MAX = 1000  # as LedgerStore.accounts_of
SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (id TEXT PRIMARY KEY, owner TEXT NOT NULL, json TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS accounts_owner ON accounts (owner, id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


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

    def replace_all(self, accounts: Iterable[Account], height: int) -> None:
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute("DELETE FROM accounts")
            self._put(accounts, height)

    def update(self, accounts: Iterable[Account], height: int) -> None:
        with self.db:
            self.db.execute("BEGIN")
            self._put(accounts, height)

    def _put(self, accounts: Iterable[Account], height: int) -> None:
        rows = [(a.id, a.owner.lower(), json.dumps(serialize_account(a, self.exponents))) for a in accounts]
        self.db.executemany("INSERT OR REPLACE INTO accounts VALUES (?, ?, ?)", rows)
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
