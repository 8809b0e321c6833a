"""RPC workers enforce the node's controls: with `--rpc-workers`, TLS, `rpc.public_methods =
"authenticated"` and the per-client rate limit hold whichever process accepts a connection, and the
requests a worker passes on (probes, WebSocket upgrades) reach the node."""

from __future__ import annotations

import asyncio
import http.client
import json
import ssl
import time
from pathlib import Path

import aiohttp
import pytest
from support.nodes import make_home, run_cli, start_node
from support.tls import self_signed_rpc_certificate

from node.rpc.errors import LIMIT_EXCEEDED, UNAUTHORIZED

pytestmark = pytest.mark.slow
RATE_PER_S, BURST = 2, 40


def _post(
    url: str, context: ssl.SSLContext, headers: dict[str, str], source: str = "127.0.0.1"
) -> tuple[int, dict, dict]:
    """eth_chainId on a fresh TLS connection from `source` (so any accepting process may take it)."""
    host, port = url.removeprefix("https://").split(":")
    connection = http.client.HTTPSConnection(host, int(port), context=context, timeout=20, source_address=(source, 0))
    try:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []})
        connection.request("POST", "/", body, {"Content-Type": "application/json", **headers})
        reply = connection.getresponse()
        return reply.status, dict(reply.getheaders()), json.loads(reply.read() or b"null")
    finally:
        connection.close()


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    home, _ = make_home(tmp_path_factory.mktemp("workers-secured"), accounts=2)
    cert_path, _ = self_signed_rpc_certificate(home)
    (home / "node.toml").write_text(
        f'[rpc]\ntls_cert = "rpc-cert.pem"\ntls_key = "rpc-key.pem"\npublic_methods = "authenticated"\n'
        f"rate_per_s = {RATE_PER_S}\nrate_burst = {BURST}\n"
    )
    added = run_cli("rpc", "api-key", "add", "reader", "--role", "auditor", "--home", str(home))
    assert added.returncode == 0, added.stderr
    node = start_node(home, extra_args=("--rpc-workers", "2"))
    context = ssl.create_default_context(cafile=str(cert_path))
    yield node, context, {"X-API-Key": added.stdout.strip()}, home
    node.stop()


def test_workers_serve_tls_and_refuse_anonymous_callers(secured):
    node, context, api_key, _ = secured
    assert node.url.startswith("https://")
    served_by: set[str | None] = set()
    for attempt in range(200):  # which process accepts is the kernel's choice: ask until a worker did
        source = f"127.0.1.{attempt % 250 + 1}"  # each source its own full bucket: no rate limit here
        status, _, reply = _post(node.url, context, {}, source=source)
        assert status == 401 and reply["error"]["code"] == UNAUTHORIZED, (status, reply)
        status, headers, reply = _post(node.url, context, api_key, source=source)
        assert status == 200 and reply["result"] == "0x539"
        served_by.add(headers.get("X-Qenex-Rpc-Worker"))
        if attempt >= 7 and served_by - {None}:
            break
        if attempt % 8 == 7:
            time.sleep(0.05)  # let another process reach accept() on a busy machine
    assert served_by - {None}, "no worker answered: the checks above did not reach a worker"


def test_probes_and_websockets_pass_through_workers(secured):
    node, context, api_key, _ = secured
    host, port = node.url.removeprefix("https://").split(":")
    for _ in range(6):  # /health is not a worker route: every process must still answer it
        connection = http.client.HTTPSConnection(host, int(port), context=context, timeout=20)
        connection.request("GET", "/health")
        assert connection.getresponse().status in (200, 503)
        connection.close()

    async def over_websocket() -> list[str]:
        answers = []
        async with aiohttp.ClientSession() as session:
            for attempt in range(4):
                ws_url = node.url.replace("https", "wss", 1)
                async with session.ws_connect(ws_url, ssl=context, headers=api_key) as ws:
                    await ws.send_json({"jsonrpc": "2.0", "id": attempt, "method": "eth_chainId", "params": []})
                    answers.append((await ws.receive_json(timeout=20))["result"])
        return answers

    assert asyncio.run(over_websocket()) == ["0x539"] * 4


def test_one_client_is_limited_across_the_node_and_its_workers(secured):
    """A fresh source address (its bucket full) sends far more than the burst on fresh connections,
    with a forged worker token: all processes together let through at most burst + rate x time."""
    node, context, api_key, _ = secured
    forged = {"X-Qenex-Worker-Token": "00" * 32, "X-Qenex-Client": "someone-else", **api_key}
    started = time.monotonic()
    statuses = []
    for _ in range(2 * BURST):
        status, headers, reply = _post(node.url, context, forged, source="127.0.0.2")
        statuses.append(status)
        if status == 429:
            assert int(headers["Retry-After"]) >= 1 and reply["error"]["code"] == LIMIT_EXCEEDED
    elapsed = time.monotonic() - started
    allowed = statuses.count(200)
    assert set(statuses) <= {200, 429}
    assert BURST <= allowed <= BURST + RATE_PER_S * elapsed + 1, (allowed, elapsed)


def test_the_rate_table_is_the_nodes_private_file(secured):
    _, _, _, home = secured
    table = Path(home) / "rpc-rate-limits.bin"
    assert table.exists() and table.stat().st_mode & 0o777 == 0o600
