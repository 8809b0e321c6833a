"""JSON-RPC over WebSocket on the HTTP port, with eth_subscribe / eth_unsubscribe.

A WebSocket upgrade of `GET /` opens a connection that takes every HTTP method plus
subscriptions (execution-apis / geth): `newHeads` (each committed block's header), `logs`
(eth_getLogs criteria: address, topics; one notification per matching log) and
`newPendingTransactions` (hashes of admitted transactions). Notifications are
`{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":ID,"result":...}}`.

Bounds (node.toml [rpc], node/rpc/policy.py): a message is at most the HTTP body limit,
ws_connections_max open connections, ws_subscriptions_max subscriptions per connection, and a
connection that falls 10,000 notifications behind is closed rather than left to grow.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

from node.block import Block, Receipt
from node.execution import SignedTransaction
from node.log import event
from node.rpc.errors import INVALID_PARAMS, LIMIT_EXCEEDED, RpcError
from node.rpc.serialize import data
from node.rpc.server import PRINCIPAL_KEY, JsonRpcServer
from node.service import Node

log = logging.getLogger("qenex.rpc")

SUBSCRIPTIONS_PER_CONNECTION_MAX = 100  # default of rpc.ws_subscriptions_max (node/rpc/policy.py)
QUEUE_MAX = 10_000
KINDS = ("newHeads", "logs", "newPendingTransactions")


@dataclass(eq=False)  # identity: a set of live connections
class _Connection:
    ws: web.WebSocketResponse
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(QUEUE_MAX))
    subscriptions: dict[str, tuple[str, dict]] = field(default_factory=dict)
    overflowed: bool = False
    caller: object = None  # who the upgrade request authenticated as (node/rpc/guard.py)

    def push(self, message: dict) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.overflowed = True  # the sender loop closes the connection at its next message


class WebSocketRpc:
    def __init__(self, node: Node, server: JsonRpcServer) -> None:
        self.node = node
        self.server = server
        self.connections: set[_Connection] = set()
        node.block_listeners.append(self._on_block)
        node.pending_listeners.append(self._on_pending)

    # --- events from the node ----------------------------------------------------------------

    def _notify(self, connection: _Connection, subscription: str, result: object) -> None:
        connection.push(
            {"jsonrpc": "2.0", "method": "eth_subscription", "params": {"subscription": subscription, "result": result}}
        )

    def _on_block(self, block: Block, receipts: list[Receipt]) -> None:
        if not any(c.subscriptions for c in self.connections):
            return
        number = hex(block.header.number)
        head = None
        for connection in list(self.connections):
            for subscription, (kind, criteria) in connection.subscriptions.items():
                if kind == "newHeads":
                    if head is None:
                        head = self.server.methods["eth_getBlockByNumber"]([number, False])
                        head.pop("transactions", None)
                        head.pop("commit", None)
                    self._notify(connection, subscription, head)
                elif kind == "logs":
                    query = {**criteria, "fromBlock": number, "toBlock": number}
                    for entry in self.server.methods["eth_getLogs"]([query]):
                        self._notify(connection, subscription, entry)

    def _on_pending(self, signed: SignedTransaction) -> None:
        for connection in list(self.connections):
            for subscription, (kind, _) in connection.subscriptions.items():
                if kind == "newPendingTransactions":
                    self._notify(connection, subscription, data(signed.hash))

    # --- the connection --------------------------------------------------------------------

    def _subscribe(self, connection: _Connection, params: list) -> str:
        kind = params[0] if params else None
        if kind not in KINDS:
            raise RpcError(INVALID_PARAMS, f"no such subscription {kind!r}; one of {', '.join(KINDS)}")
        limit = self.node.config.rpc_policy.ws_subscriptions_max
        if len(connection.subscriptions) >= limit:
            raise RpcError(LIMIT_EXCEEDED, f"at most {limit} subscriptions per connection")
        criteria: dict = {}
        if kind == "logs":
            given = params[1] if len(params) > 1 else {}
            if not isinstance(given, dict):
                raise RpcError(INVALID_PARAMS, "logs criteria must be an object {address, topics}")
            criteria = {k: given[k] for k in ("address", "topics") if k in given}
            self.server.methods["eth_getLogs"]([{**criteria, "fromBlock": "latest", "toBlock": "latest"}])
        subscription = "0x" + os.urandom(16).hex()
        connection.subscriptions[subscription] = (kind, criteria)
        return subscription

    def _call(self, connection: _Connection, request: object) -> dict | None:
        if isinstance(request, dict) and request.get("method") in ("eth_subscribe", "eth_unsubscribe"):
            params = request.get("params", [])
            try:
                if not isinstance(params, list):
                    raise RpcError(INVALID_PARAMS, "params must be an array")
                if request["method"] == "eth_subscribe":
                    result: object = self._subscribe(connection, params)
                else:
                    result = connection.subscriptions.pop(params[0], None) is not None if params else False
            except RpcError as error:
                return {"jsonrpc": "2.0", "id": request.get("id"), "error": error.to_json()}
            return {"jsonrpc": "2.0", "id": request.get("id"), "result": result}
        return self.server.call(request, connection.caller)

    def _handle(self, connection: _Connection, text: str) -> object:
        payload = self.server.parse(text.encode(), self.server.max_json_depth)
        if not isinstance(payload, dict | list):
            return getattr(payload, "error", None) or self.server.dispatch(payload)
        if isinstance(payload, list):
            if not payload or len(payload) > self.server.max_batch:
                return self.server.dispatch(payload)
            return [r for r in (self._call(connection, item) for item in payload) if r is not None] or None
        return self._call(connection, payload)

    async def _send_loop(self, connection: _Connection) -> None:
        while True:
            message = await connection.queue.get()
            if message is None or connection.overflowed:
                event(log, "ws_closed_slow_consumer", logging.WARNING, queued=QUEUE_MAX)
                await connection.ws.close(message=b"too far behind")
                return
            await connection.ws.send_str(json.dumps(message, separators=(",", ":")))

    async def handler(self, request: web.Request) -> web.WebSocketResponse:
        policy = self.node.config.rpc_policy
        if len(self.connections) >= policy.ws_connections_max:
            error = RpcError(LIMIT_EXCEEDED, f"at most {policy.ws_connections_max} WebSocket connections are open")
            return web.json_response({"jsonrpc": "2.0", "id": None, "error": error.to_json()}, status=503)
        ws = web.WebSocketResponse(max_msg_size=policy.max_body_bytes, heartbeat=30)
        await ws.prepare(request)
        connection = _Connection(ws, caller=request.get(PRINCIPAL_KEY))
        self.connections.add(connection)
        sender = asyncio.create_task(self._send_loop(connection))
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                reply = self._handle(connection, message.data)
                if reply is not None:
                    connection.push(reply)
        finally:
            self.connections.discard(connection)
            sender.cancel()
        return ws


def websocket_or_http(
    ws_handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    http_handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """GET / serves WebSocket upgrades and plain GETs on the same path."""

    async def handle(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await ws_handler(request)
        return await http_handler(request)

    return handle
