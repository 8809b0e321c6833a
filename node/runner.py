"""Run a node: the aiohttp server, the block producer, and a clean stop on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable

from aiohttp import web

from node import peers
from node.explorer.routes import install as install_explorer
from node.gc_policy import tune_for_serving
from node.graphql_api.routes import install as install_graphql
from node.health import install as install_health
from node.log import event, register_secret
from node.p2p.driver import ConsensusDriver
from node.p2p.network import NodeNetwork, load_p2p_config
from node.pii.service import install as install_personal_data
from node.pii.service import rpc_methods as personal_data_methods
from node.rpc.guard import RpcGuard, check_rpc_policy
from node.rpc.guard import install as install_guard
from node.rpc.methods import RpcMethods
from node.rpc.server import JsonRpcServer
from node.rpc.ws import WebSocketRpc, websocket_or_http
from node.rpc_workers import RpcWorkers
from node.service import Node, NodeConfig

log = logging.getLogger("qenex.node")
GUARD_KEY = web.AppKey("guard", RpcGuard)


def build_app(node: Node) -> web.Application:
    policy = node.config.rpc_policy
    guard = RpcGuard(node, policy)  # CORS, rate limit, credentials, method classes, audit (docs/security.md)
    server = JsonRpcServer(
        RpcMethods(node).table() | guard.admin_methods() | personal_data_methods(node), prepare=node.prepare_rpc,
        observe=node.observe_rpc,
        authorize=guard.authorize, max_body_bytes=policy.max_body_bytes, max_batch=policy.max_batch,
        max_json_depth=policy.max_json_depth,
    )  # fmt: skip

    async def metrics(request: web.Request) -> web.Response:
        body, content_type = node.metrics.exposition()
        return web.Response(body=body, headers={"Content-Type": content_type})

    app = web.Application(client_max_size=policy.max_body_bytes + 1024)
    app[GUARD_KEY] = guard
    install_guard(app, guard)
    app.router.add_post("/", server.http_handler)
    install_explorer(app, node, rpc_get=websocket_or_http(WebSocketRpc(node, server).handler, server.http_handler))
    app.router.add_get("/metrics", metrics)
    install_health(app, node)
    install_graphql(app, node, RpcMethods(node).table())
    return app


async def serve(config: NodeConfig, on_ready: Callable[[Node, str], Awaitable[None] | None] | None = None) -> None:
    """Start the node, call `on_ready(node, rpc_url)`, and run until a stop signal."""
    check_rpc_policy(config)  # secret files 0600, settings that cannot go together: before opening anything
    node = Node(config)
    workers = None
    register_secret(node.validator_key.hex())  # masked in every log line, whatever logs it
    p2p = load_p2p_config(config.home)
    network = None
    if p2p is not None:  # peers: the nodes registered on chain, followed block by block (node/peers.py)
        identities = peers.registered(node.chain.ledger, node.genesis)
        network = NodeNetwork(node.genesis, config.home, node.address, p2p, node.metrics, identities)
        peers.follow_chain(node, network)
    install_personal_data(node, network)  # sealed envelopes in band (node/pii/)
    driver = ConsensusDriver(node, network)
    node.on_admitted = driver.transaction_admitted
    node.consensus = driver
    runner = web.AppRunner(build_app(node), access_log=None, handle_signals=False)
    try:
        await runner.setup()
        ssl_context = config.rpc_policy.ssl_context()
        site = web.TCPSite(runner, config.rpc_host, config.rpc_port, reuse_address=True, ssl_context=ssl_context)
        await site.start()
        port = runner.addresses[0][1] if runner.addresses else config.rpc_port
        url = f"{'https' if ssl_context else 'http'}://{config.rpc_host}:{port}"
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, node.stop)
        await node.signatures.warm_up()
        workers = await RpcWorkers.start(node, runner, site, config.rpc_workers, runner.app[GUARD_KEY])
        tune_for_serving()
        event(log, "node_started", height=node.chain.height, rpc=url, chain_id=node.genesis.chain_id)
        if on_ready is not None:
            maybe = on_ready(node, url)
            if asyncio.iscoroutine(maybe):
                await maybe
        await driver.run(node.stopping)
    finally:
        if workers is not None:
            workers.stop()
        await runner.cleanup()
        height = node.chain.height
        node.close()
        event(log, "node_stopped", height=height)
