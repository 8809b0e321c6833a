"""`qenex node run --rpc-workers N`: read-only JSON-RPC served by N more processes.

Why: one Python process serves JSON-RPC on one core, and balance reads far outnumber writes. The
node keeps listening as before; with N > 0 it also passes its listening socket to N worker
processes (pre-fork style: each accepts connections on the same socket, the kernel spreads them)
and opens a private 127.0.0.1 endpoint for them. A worker answers read-only methods
(qenex_getBalances, qenex_getAccount, eth_blockNumber, committed blocks, transactions and
receipts, and the static ones) itself from the shared balance cache (kernel/) and the read-only
view of committed data (node/read_view.py); any request holding another method
(eth_sendRawTransaction, ...) or asking what the view does not hold (a pending transaction, a
block older than the view) it forwards whole to the node's private endpoint, so writes always
reach the node process.

Run as `python -m node.rpc_workers --home H --fd FD --node-url URL` by the node, not by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web

from genesis.builder import GENESIS_FILE
from genesis.schema import load_genesis
from kernel.cache import Balance
from kernel.selector import open_reader
from node.log import event
from node.read_view import BlockRows, ReadViewReader, ReadViewWriter, view_path
from node.rpc.errors import HTTP_STATUS, LIMIT_EXCEEDED, RpcError
from node.rpc.gate import WORKER_TOKEN_ENV, RequestGate
from node.rpc.guard import RATE_TABLE_FILE
from node.rpc.methods import CLIENT_VERSION, RpcMethods, _address, _param
from node.rpc.policy import RpcPolicy
from node.rpc.ratelimit import SharedRateLimiter
from node.rpc.serialize import qty
from node.rpc.server import PRINCIPAL_KEY, JsonRpcServer, _error

if TYPE_CHECKING:
    from node.rpc.guard import RpcGuard
    from node.service import Node

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

log = logging.getLogger("qenex.rpc_workers")
VIEW_METHODS = frozenset(
    ("eth_getBlockByNumber", "eth_getBlockByHash", "eth_getTransactionByHash", "eth_getTransactionReceipt")
)
WORKER_START_TIMEOUT_S = 30
POLICY_ENV = "QENEX_RPC_POLICY"
PASSED_BACK_HEADERS = frozenset(
    {"Content-Type", "Retry-After", "WWW-Authenticate", "Cache-Control", "Content-Encoding"}
)


class WorkerMethods:
    """The read-only methods a worker answers itself, exactly as the node would."""

    def __init__(self, home: Path) -> None:
        genesis = load_genesis(home / GENESIS_FILE)
        self.chain_id = genesis.chain_id
        self.exponents = genesis.exponents
        self.cache = open_reader(home)
        self.view = ReadViewReader(view_path(home))

    def table(self) -> dict:
        return {
            "web3_clientVersion": lambda p: CLIENT_VERSION,
            "net_version": lambda p: str(self.chain_id),
            "eth_chainId": lambda p: qty(self.chain_id),
            "eth_blockNumber": lambda p: qty(self.view.height()),
            "qenex_getBalances": self.get_balances,
            "qenex_getAccount": self.get_account,
            "eth_getBlockByNumber": lambda p: self._block(p)[0],
            "eth_getBlockByHash": lambda p: self._block(p)[0],
            "eth_getTransactionByHash": lambda p: self._transaction(p)[0],
            "eth_getTransactionReceipt": lambda p: self._transaction(p)[1],
        }

    def can_answer(self, request: object) -> bool:
        """Whether the view holds what `request` asks (else the node answers it: blocks older
        than the view, pending transactions, and anything malformed, whose error is the node's)."""
        if not isinstance(request, dict) or request.get("method") not in VIEW_METHODS:
            return True
        try:
            if request["method"].startswith("eth_getBlockBy"):
                return self._block(request.get("params"))[1]
            return self._transaction(request.get("params"))[1] is not None
        except (TypeError, ValueError, IndexError, KeyError):
            return False

    def _block(self, params: object) -> tuple[dict | None, bool]:
        """(the block, whether the view could tell) for eth_getBlockByNumber/ByHash params."""
        if not isinstance(params, list) or len(params) != 2 or not isinstance(params[1], bool):
            raise ValueError("not the two block parameters")
        tag, full = params
        if not isinstance(tag, str):
            raise ValueError("block tag")
        if len(tag) == 66:
            found = self.view.block(block_hash=tag, full=full)
            return found, found is not None
        height = self.view.height()
        number = height if tag in ("latest", "pending", "safe", "finalized") else int(tag, 16)
        if not self.view.floor() <= number <= height:
            return None, False
        found = self.view.block(number=number, full=full)
        return found, found is not None

    def _transaction(self, params: object) -> tuple[dict | None, dict | None]:
        if not isinstance(params, list) or len(params) != 1 or not isinstance(params[0], str):
            raise ValueError("one transaction hash")
        found = self.view.transaction(params[0])
        return (None, None) if found is None else found

    def _cached(self, accounts: list[dict]) -> list[dict]:
        from node.balance_cache import with_balance

        cached = self.cache.get_many([a["id"] for a in accounts])
        out = []
        for account, balance in zip(accounts, cached, strict=True):
            if balance is None:  # not cached: the view's own figures, from the same block
                balance = Balance(int(account["balance"]), int(account["available"]))
            out.append(with_balance(account, balance, self.exponents.get(account["currency"], 0)))
        return out

    def get_account(self, params: list) -> dict | None:
        # the node's own id check and IBAN normalisation (it does not use the instance)
        account_id = RpcMethods._account_id(None, _param(params, 0, "account id"))  # type: ignore[arg-type]
        account = self.view.account(account_id)
        return None if account is None else self._cached([account])[0]

    def get_balances(self, params: list) -> list[dict]:
        owner = _address(_param(params, 0, "owner address"), "owner address")
        return self._cached(self.view.accounts_of(owner))


def _methods_of(payload: object) -> list[str] | None:
    items = payload if isinstance(payload, list) else [payload]
    names = [item.get("method") for item in items if isinstance(item, dict)]
    return names if len(names) == len(items) and all(isinstance(n, str) for n in names) else None


def build_worker_app(home: Path, node_url: str, policy: RpcPolicy, worker_token: str) -> web.Application:
    """The worker's HTTP app: the node's request gate (node/rpc/gate.py) in front of everything, the
    read methods answered here, every other request (JSON-RPC writes, the explorer, /metrics,
    /health, GraphQL, WebSocket upgrades) passed to the node as the client sent it."""
    methods = WorkerMethods(home)
    local = methods.table()
    limiter = None
    if policy.rate_per_s:
        limiter = SharedRateLimiter(home / RATE_TABLE_FILE, policy.rate_per_s, policy.rate_burst)
    gate = RequestGate(policy, home, limiter, worker_token)
    server = JsonRpcServer(
        local,
        authorize=gate.refuse_anonymous,
        max_body_bytes=policy.max_body_bytes,
        max_batch=policy.max_batch,
        max_json_depth=policy.max_json_depth,
    )
    session: dict[str, aiohttp.ClientSession] = {}
    served_by = {"X-Qenex-Rpc-Worker": str(os.getpid())}  # which process answered (tests, operators)

    def client() -> aiohttp.ClientSession:
        if "client" not in session:
            session["client"] = aiohttp.ClientSession(auto_decompress=False)
        return session["client"]

    async def forward(request: web.Request, body: bytes) -> web.StreamResponse:
        headers = gate.forward_headers(request)  # the node authorises and audits (node/rpc/guard.py)
        if "Content-Type" in request.headers:
            headers["Content-Type"] = request.headers["Content-Type"]
        url = node_url + request.rel_url.path_qs
        async with client().request(request.method, url, data=body or None, headers=headers) as reply:
            kept = {k: v for k, v in reply.headers.items() if k in PASSED_BACK_HEADERS}
            return web.Response(body=await reply.read(), status=reply.status, headers=kept)

    async def forward_websocket(request: web.Request) -> web.StreamResponse:
        inbound = web.WebSocketResponse(max_msg_size=policy.max_body_bytes)
        await inbound.prepare(request)
        url = node_url.replace("http", "ws", 1) + request.rel_url.path_qs
        async with client().ws_connect(url, headers=gate.forward_headers(request)) as outbound:

            async def pump(source: object, sink: object) -> None:
                async for message in source:  # type: ignore[attr-defined]
                    if message.type == aiohttp.WSMsgType.TEXT:
                        await sink.send_str(message.data)  # type: ignore[attr-defined]
                    elif message.type == aiohttp.WSMsgType.BINARY:
                        await sink.send_bytes(message.data)  # type: ignore[attr-defined]
                    else:
                        break
                await sink.close()  # type: ignore[attr-defined]

            await asyncio.gather(pump(inbound, outbound), pump(outbound, inbound))
        return inbound

    async def handle(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await forward_websocket(request)
        limit = policy.max_body_bytes
        body = await request.content.read(limit + 1)
        if len(body) > limit:
            error = RpcError(LIMIT_EXCEEDED, f"request body exceeds {limit} bytes")
            return web.json_response(_error(None, error), status=413)
        if request.method != "POST" or request.path != "/":
            return await forward(request, body)
        payload = JsonRpcServer.parse(body, policy.max_json_depth)
        names = _methods_of(payload)
        items = payload if isinstance(payload, list) else [payload]
        if names is None or not all(name in local for name in names) or not all(map(methods.can_answer, items)):
            return await forward(request, body)  # writes and everything not served here: the node decides
        result = server.dispatch(payload, request.get(PRINCIPAL_KEY))
        if result is None:
            return web.Response(status=204, headers=served_by)
        status = 200
        if isinstance(result, dict) and "error" in result:
            status = HTTP_STATUS.get(result["error"]["code"], 200)  # as the node: a lone refused call is 401
        return web.json_response(result, status=status, dumps=compact, headers=served_by)

    @web.middleware
    async def gatekeeper(request: web.Request, handler: Handler) -> web.StreamResponse:
        refusal = gate.admit(request)
        if refusal is not None:
            return refusal
        return gate.finish(request, await handler(request))

    async def close_session(app: web.Application) -> None:
        if "client" in session:
            await session["client"].close()
        if limiter is not None:
            limiter.close()

    app = web.Application(client_max_size=policy.max_body_bytes + 1024, middlewares=[gatekeeper])
    app.router.add_route("*", "/{tail:.*}", handle)
    app.on_cleanup.append(close_session)
    return app


def compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


async def _serve_worker(home: Path, fd: int, node_url: str) -> None:
    policy = RpcPolicy.from_json(os.environ[POLICY_ENV])
    worker_token = os.environ[WORKER_TOKEN_ENV]
    sock = socket.socket(fileno=fd)
    app = build_worker_app(home, node_url, policy, worker_token)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.SockSite(runner, sock, ssl_context=policy.ssl_context()).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print("ready", flush=True)
    await stop.wait()
    await runner.cleanup()


# --- the node's side ----------------------------------------------------------------------------


def block_rows_of(table: dict) -> Callable[[int], BlockRows]:
    """Serialize a committed block, its transactions and receipts with the node's own methods,
    so a worker's answer is byte for byte the node's."""

    def rows(number: int) -> BlockRows:
        block = table["eth_getBlockByNumber"]([qty(number), False])
        transactions = tuple(
            (h, table["eth_getTransactionByHash"]([h]), table["eth_getTransactionReceipt"]([h]))
            for h in block["transactions"]
        )
        full = table["eth_getBlockByNumber"]([qty(number), True])
        return BlockRows(number, block["hash"], block, full, transactions)

    return rows


class RpcWorkers:
    """The worker processes of one node and the private endpoint they forward to."""

    def __init__(self, processes: list[subprocess.Popen], view: ReadViewWriter) -> None:
        self.processes = processes
        self.view = view

    @classmethod
    async def start(
        cls, node: Node, runner: web.AppRunner, site: web.TCPSite, count: int, guard: RpcGuard
    ) -> RpcWorkers | None:
        if count <= 0:
            return None
        assert guard.worker_token is not None, "the guard was built for a node without workers"
        view = ReadViewWriter(view_path(node.config.home), node.genesis.exponents)
        node.balances.attach_view(view, block_rows_of(RpcMethods(node).table()))
        internal = web.TCPSite(runner, "127.0.0.1", 0)
        await internal.start()
        host, port = internal._server.sockets[0].getsockname()[:2]
        listening = site._server.sockets[0]
        fd = listening.fileno()
        processes = []
        for _ in range(count):
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "node.rpc_workers",
                    "--home",
                    str(node.config.home),
                    "--fd",
                    str(fd),
                    "--node-url",
                    f"http://{host}:{port}",
                ],
                pass_fds=[fd],
                stdout=subprocess.PIPE,
                text=True,
                env={
                    **os.environ,
                    "PYTHONUNBUFFERED": "1",
                    POLICY_ENV: node.config.rpc_policy.to_json(),
                    WORKER_TOKEN_ENV: guard.worker_token,  # in the environment: not on a command line others see
                },
            )
            processes.append(process)
        workers = cls(processes, view)
        for process in processes:
            line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), WORKER_START_TIMEOUT_S)
            if line.strip() != "ready":
                workers.stop()
                raise RuntimeError(f"an RPC worker did not start (exit {process.poll()})")
        event(log, "rpc_workers_started", count=count, node_url=f"http://{host}:{port}")
        return workers

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        self.view.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m node.rpc_workers")
    parser.add_argument("--home", required=True)
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--node-url", required=True)
    args = parser.parse_args(argv)
    asyncio.run(_serve_worker(Path(args.home), args.fd, args.node_url))
    return 0


if __name__ == "__main__":
    sys.exit(main())
