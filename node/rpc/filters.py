"""Polling filters (eth_newFilter, eth_newBlockFilter, eth_newPendingTransactionFilter,
eth_getFilterChanges, eth_getFilterLogs, eth_uninstallFilter) and txpool_status/content.

Filters live in memory, at most FILTERS_MAX, and expire after FILTER_TTL_S seconds without a
poll, as in geth (5 minutes). A log filter's criteria are eth_getLogs's, checked when it is made.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from node.execution import SignedTransaction
from node.rpc.errors import LIMIT_EXCEEDED, RpcError, invalid_params
from node.rpc.serialize import data, qty

if TYPE_CHECKING:
    from node.rpc.eth import EthRpc

FILTER_TTL_S = 300
FILTERS_MAX = 10_000
PENDING_KEPT_MAX = 10_000


@dataclass
class _Filter:
    kind: str  # "block", "logs", "pending"
    last_block: int
    criteria: dict = field(default_factory=dict)
    pending: deque = field(default_factory=lambda: deque(maxlen=PENDING_KEPT_MAX))
    touched: float = field(default_factory=time.monotonic)


class Filters:
    def __init__(self, eth: EthRpc) -> None:
        self.eth = eth
        self.node = eth.node
        self._filters: dict[str, _Filter] = {}
        self.node.pending_listeners.append(self._on_pending)

    def table(self) -> dict[str, Callable[[list], Any]]:
        return {
            "eth_newFilter": self.new_filter,
            "eth_newBlockFilter": lambda p: self._install(_Filter("block", self.node.chain.height)),
            "eth_newPendingTransactionFilter": lambda p: self._install(_Filter("pending", self.node.chain.height)),
            "eth_getFilterChanges": self.get_filter_changes,
            "eth_getFilterLogs": self.get_filter_logs,
            "eth_uninstallFilter": self.uninstall,
            "txpool_status": lambda p: {"pending": qty(len(self.node.mempool)), "queued": "0x0"},
            "txpool_content": self.txpool_content,
        }

    def _on_pending(self, signed: SignedTransaction) -> None:
        for installed in self._filters.values():
            if installed.kind == "pending":
                installed.pending.append(signed.hash)

    def _expire(self) -> None:
        deadline = time.monotonic() - FILTER_TTL_S
        for filter_id in [k for k, f in self._filters.items() if f.touched < deadline]:
            del self._filters[filter_id]

    def _install(self, installed: _Filter) -> str:
        self._expire()
        limit = self.node.config.rpc_policy.filters_max
        if len(self._filters) >= limit:
            raise RpcError(LIMIT_EXCEEDED, f"too many filters installed (limit {limit}); uninstall some")
        filter_id = "0x" + os.urandom(16).hex()
        self._filters[filter_id] = installed
        return filter_id

    def _get(self, params: list) -> tuple[str, _Filter]:
        self._expire()
        filter_id = params[0] if params else None
        if not isinstance(filter_id, str):
            raise invalid_params("missing parameter 0 (filter id)")
        installed = self._filters.get(filter_id)
        if installed is None:
            raise RpcError(-32000, "filter not found")
        installed.touched = time.monotonic()
        return filter_id, installed

    def new_filter(self, params: list) -> str:
        criteria = params[0] if params else None
        if not isinstance(criteria, dict):
            raise invalid_params("filter must be an object {fromBlock, toBlock, address, topics}")
        criteria = {k: criteria[k] for k in ("fromBlock", "toBlock", "address", "topics") if k in criteria}
        self.eth.get_logs([{**criteria, "fromBlock": "latest", "toBlock": "latest"}])  # checks the criteria
        return self._install(_Filter("logs", self.node.chain.height, criteria))

    def get_filter_changes(self, params: list) -> list:
        _, installed = self._get(params)
        head = self.node.chain.height
        if installed.kind == "pending":
            hashes = [data(h) for h in installed.pending]
            installed.pending.clear()
            return hashes
        first, installed.last_block = installed.last_block + 1, head
        if first > head:
            return []
        if installed.kind == "block":
            return [data(self.node.chain.header(n).hash) for n in range(first, head + 1)]
        return self._logs(installed.criteria, first, head)

    def get_filter_logs(self, params: list) -> list:
        _, installed = self._get(params)
        if installed.kind != "logs":
            raise RpcError(-32000, "filter not found")
        return self.eth.get_logs([installed.criteria])

    def _logs(self, criteria: dict, first: int, head: int) -> list:
        to_block = criteria.get("toBlock")
        last = head if to_block in (None, "latest", "pending", "safe", "finalized") else min(head, int(to_block, 16))
        from_block = criteria.get("fromBlock")
        if isinstance(from_block, str) and from_block.startswith("0x"):
            first = max(first, int(from_block, 16))
        if first > last:
            return []
        return self.eth.get_logs([{**criteria, "fromBlock": hex(first), "toBlock": hex(last)}])

    def uninstall(self, params: list) -> bool:
        filter_id = params[0] if params else None
        return self._filters.pop(filter_id, None) is not None if isinstance(filter_id, str) else False

    def txpool_content(self, params: list) -> dict:
        pending: dict[str, dict[str, dict]] = {}
        for signed in self.node.mempool.transactions():
            pending.setdefault(signed.sender, {})[str(signed.tx.nonce)] = self.eth.pending_json(signed)
        return {"pending": pending, "queued": {}}
