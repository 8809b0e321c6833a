"""py-evm's key-value database over the node's LevelDB, so EVM state lives beside the ledger.

py-evm keeps accounts, storage and code in hexary tries whose nodes are stored under their own
keccak hash. A `LevelDBView` reads those nodes from LevelDB under the key prefix b"E" and keeps
every write in memory; `stage(batch)` puts the writes into the block's LevelDB write batch, so
the EVM state of a block is written in the same synced batch as its ledger changes and its
receipts (all or nothing). Nodes are content-addressed and never deleted, so the state of
every past block stays readable by its root (eth_call and eth_getBalance at a block number).
"""

from __future__ import annotations

import atexit

import plyvel
from eth.db.atomic import AtomicDB
from eth.db.backends.base import BaseDB
from trie import HexaryTrie

EVM_PREFIX = b"E"
_DELETED = None


class LevelDBView(BaseDB):
    """Reads through to LevelDB, buffers writes until `stage` (or forever, for a dry run)."""

    def __init__(self, db: plyvel.DB) -> None:
        self._db = db
        self._pending: dict[bytes, bytes | None] = {}

    def __getitem__(self, key: bytes) -> bytes:
        value = self._pending[key] if key in self._pending else self._db.get(EVM_PREFIX + key)
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self._pending[key] = value

    def __delitem__(self, key: bytes) -> None:
        if key not in self:
            raise KeyError(key)
        self._pending[key] = _DELETED

    def _exists(self, key: bytes) -> bool:
        if key in self._pending:
            return self._pending[key] is not None
        return self._db.get(EVM_PREFIX + key) is not None

    @property
    def pending_writes(self) -> int:
        return len(self._pending)

    def stage(self, batch: plyvel.WriteBatch) -> None:
        """Put every buffered write into `batch`; the caller writes the batch (or drops it)."""
        for key, value in self._pending.items():
            if value is None:
                batch.delete(EVM_PREFIX + key)
            else:
                batch.put(EVM_PREFIX + key, value)


def atomic_view(db: plyvel.DB) -> tuple[AtomicDB, LevelDBView]:
    """The AtomicDatabaseAPI py-evm's AccountDB wants, and the view under it."""
    view = LevelDBView(db)
    return AtomicDB(view), view


def release_trie_cache() -> None:
    """Let go of the tries py-trie memoises, and through them of our LevelDB handle.

    HexaryTrie keeps a class-wide lru_cache keyed by trie instance (for pruning), so the last
    tries of a state commit, their databases and finally the plyvel DB stay referenced after
    `Chain.close`. Left alone, plyvel deallocates that DB while the interpreter is tearing its
    modules down, which prints "Error in sys.excepthook" at the exit of every process that wrote
    EVM state. Called on close and at exit, while the interpreter is whole."""
    HexaryTrie._cached_create_node_to_db_mapping.cache_clear()


atexit.register(release_trie_cache)
