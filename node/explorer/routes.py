"""HTTP routes of the explorer: the page on GET / for browsers, its assets, and /ws/blocks.

GET / stays a JSON-RPC probe for clients that do not ask for HTML (curl, load balancers,
web3 libraries); a browser's `Accept: text/html` gets the page. POST / is JSON-RPC, untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import weakref
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import TYPE_CHECKING

from aiohttp import WSMsgType, web

from ledger.hashing import keccak
from node.rpc.serialize import data, qty

if TYPE_CHECKING:
    from node.service import Node

STATIC = resources.files("node.explorer") / "static"
ASSETS = {"app.js": "text/javascript", "style.css": "text/css", "index.html": "text/html"}
MAX_SOCKETS = 64  # each open socket polls the head; a bound keeps a page storm cheap
BACKLOG_BLOCKS = 10  # blocks sent when a page connects
MAX_HASHES_PER_BLOCK = 50  # a block summary lists at most this many transaction hashes
POLL_SECONDS = 0.05
SOCKETS: web.AppKey[weakref.WeakSet] = web.AppKey("explorer_sockets", weakref.WeakSet)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def block_summary(node: Node, number: int) -> dict:
    """What the live list shows for one block: small, and the hashes bounded."""
    block = node.chain.block(number)
    header = block.header
    return {
        "number": qty(number),
        "hash": data(block.hash),
        "timestamp": qty(header.timestamp),
        "proposer": "0x" + header.proposer.hex(),
        "transactionCount": len(block.transactions),
        "transactions": [data(keccak(raw)) for raw in block.transactions[:MAX_HASHES_PER_BLOCK]],
        "commitSignatures": len(block.commit),
    }


def install(app: web.Application, node: Node, rpc_get: Handler) -> None:
    """Add the explorer's routes to the node's app; `rpc_get` answers non-browser GET /."""

    async def index(request: web.Request) -> web.StreamResponse:
        upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
        if upgrade or "text/html" not in request.headers.get("Accept", ""):
            return await rpc_get(request)  # JSON-RPC over GET or WebSocket (wallets, ethers.js)
        return asset_response("index.html")

    async def asset(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in ASSETS:
            raise web.HTTPNotFound(text=f"no explorer asset {name!r}")
        return asset_response(name)

    async def blocks_socket(request: web.Request) -> web.StreamResponse:
        sockets = request.app[SOCKETS]
        if len(sockets) >= MAX_SOCKETS:
            raise web.HTTPServiceUnavailable(text=f"more than {MAX_SOCKETS} explorer sockets are open; retry later")
        ws = web.WebSocketResponse(heartbeat=30, max_msg_size=4096)
        await ws.prepare(request)
        sockets.add(ws)
        reader = asyncio.create_task(_drain(ws))
        try:
            sent = max(-1, node.chain.height - BACKLOG_BLOCKS)  # -1: genesis is shown on a new chain
            while not ws.closed and not reader.done():
                height = node.chain.height
                for number in range(sent + 1, height + 1):
                    await ws.send_str(json.dumps({"type": "block", "block": block_summary(node, number)}))
                sent = max(sent, height)
                await asyncio.sleep(POLL_SECONDS)
        except (ConnectionResetError, RuntimeError):
            pass  # the page went away between two sends
        finally:
            reader.cancel()
            await ws.close()
        return ws

    async def close_sockets(app: web.Application) -> None:
        for ws in list(app[SOCKETS]):
            await ws.close(code=1001, message=b"node stopping")

    app[SOCKETS] = weakref.WeakSet()
    app.on_shutdown.append(close_sockets)
    app.router.add_get("/", index)
    app.router.add_get("/explorer/{name}", asset)
    app.router.add_get("/ws/blocks", blocks_socket)


async def _drain(ws: web.WebSocketResponse) -> None:
    """Read (and ignore) what the page sends, so close frames and pings are handled."""
    with contextlib.suppress(asyncio.CancelledError):
        async for message in ws:
            if message.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
                break


def asset_response(name: str) -> web.Response:
    body = (STATIC / name).read_bytes()
    return web.Response(
        body=body,
        headers={
            "Content-Type": f"{ASSETS[name]}; charset=utf-8",
            "Cache-Control": "no-cache",
            "Content-Security-Policy": "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:",
            "X-Content-Type-Options": "nosniff",
        },
    )
