"""RPC security on a running node over real sockets: method classes, JWT / API-key / session
authentication, rate limiting, the configurable limits, CORS, TLS and the secret-file mode check."""

from __future__ import annotations

import asyncio
import json
import ssl
import time
import urllib.error
import urllib.request
from pathlib import Path

import aiohttp
import jwt
import pytest
from support.nodes import make_home, run_cli, start_node
from support.tls import self_signed_rpc_certificate

from node.rpc.errors import FORBIDDEN, LIMIT_EXCEEDED, UNAUTHORIZED


def _post(url: str, body: object, headers: dict | None = None, raw: bytes | None = None,
          context: ssl.SSLContext | None = None) -> tuple[int, dict, object]:  # fmt: skip
    data = raw if raw is not None else json.dumps(body).encode()
    request = urllib.request.Request(url, data, {"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=20, context=context) as reply:
            return reply.status, dict(reply.headers), json.loads(reply.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read() or b"null")


def _call(method: str, params: list | None = None, request_id: int = 1) -> dict:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params or []}


def _write_toml(home: Path, text: str) -> None:
    (home / "node.toml").write_text(text)


def _secured_home(tmp_path: Path, toml: str) -> tuple[Path, str]:
    home, _ = make_home(tmp_path, accounts=2)
    assert run_cli("rpc", "jwt-secret", "--home", str(home)).returncode == 0
    added = run_cli("rpc", "api-key", "add", "reader", "--role", "auditor", "--home", str(home))
    assert added.returncode == 0, added.stderr
    _write_toml(home, toml)
    return home, added.stdout.strip()


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    """A node with small limits, CORS for one origin, a JWT secret and an auditor API key."""
    toml = """[rpc]
max_batch = 3
max_json_depth = 6
max_body_bytes = 2048
logs_block_range_max = 2
filters_max = 2
ws_subscriptions_max = 1
ws_connections_max = 1
cors_origins = "https://ops.bank.example"
"""
    home, api_key = _secured_home(tmp_path_factory.mktemp("limits"), toml)
    node = start_node(home)
    yield node, api_key
    node.stop()


def _jwt(home: Path, iat: float) -> str:
    secret = bytes.fromhex((home / "jwt.hex").read_text().strip())
    return jwt.encode({"iat": int(iat)}, secret, algorithm="HS256")


def test_public_reads_are_open_and_admin_methods_need_a_credential(limited):
    node, _ = limited
    status, _, reply = _post(node.url, _call("eth_blockNumber"))
    assert status == 200 and reply["result"].startswith("0x")
    for method in ("txpool_status", "debug_traceBlockByNumber", "admin_nodeInfo", "qenex_cacheVerify"):
        status, _, reply = _post(node.url, _call(method, ["0x0"] if method.startswith("debug") else []))
        assert status == 401, method
        assert reply["error"]["code"] == UNAUTHORIZED and method in reply["error"]["message"]


def test_jwt_missing_wrong_expired_and_valid(limited):
    node, _ = limited
    body = _call("txpool_status")
    assert _post(node.url, body)[0] == 401  # missing
    status, headers, reply = _post(node.url, body, {"Authorization": "Bearer not.a.jwt"})
    assert status == 401 and reply["error"]["code"] == UNAUTHORIZED and "WWW-Authenticate" in headers
    forged = jwt.encode({"iat": int(time.time())}, b"\x01" * 32, algorithm="HS256")
    status, _, reply = _post(node.url, body, {"Authorization": f"Bearer {forged}"})
    assert status == 401 and "invalid token" in reply["error"]["message"]  # wrong secret
    stale = _jwt(node.home, time.time() - 120)
    status, _, reply = _post(node.url, body, {"Authorization": f"Bearer {stale}"})
    assert status == 401 and "iat" in reply["error"]["message"]  # outside +-60 s
    expired = jwt.encode({"iat": int(time.time()), "exp": int(time.time()) - 5},
                         bytes.fromhex((node.home / "jwt.hex").read_text().strip()), algorithm="HS256")  # fmt: skip
    status, _, reply = _post(node.url, body, {"Authorization": f"Bearer {expired}"})
    assert status == 401 and "expired" in reply["error"]["message"]
    token = run_cli("rpc", "jwt-token", "--home", str(node.home)).stdout.strip()
    status, _, reply = _post(node.url, body, {"Authorization": f"Bearer {token}"})
    assert status == 200 and reply["result"]["pending"].startswith("0x")


def test_api_key_bound_to_a_role(limited):
    node, api_key = limited
    batch = [_call("txpool_status", request_id=1), _call("admin_nodeInfo", request_id=2), _call("eth_chainId", [], 3)]
    status, _, replies = _post(node.url, batch, {"X-API-Key": api_key})
    by_id = {r["id"]: r for r in replies}
    assert status == 200
    assert "result" in by_id[1]  # auditor may read the txpool
    assert by_id[2]["error"]["code"] == FORBIDDEN and "auditor" in by_id[2]["error"]["message"]  # wrong role
    assert "result" in by_id[3]
    status, _, reply = _post(node.url, _call("admin_nodeInfo"), {"X-API-Key": api_key})
    assert status == 403 and reply["error"]["code"] == FORBIDDEN
    status, _, reply = _post(node.url, _call("txpool_status"), {"X-API-Key": api_key + "x"})
    assert status == 401 and "unknown API key" in reply["error"]["message"]


def test_limits_from_node_toml(limited):
    node, _ = limited
    status, _, reply = _post(node.url, [_call("eth_chainId", request_id=i) for i in range(4)])
    assert reply["error"]["code"] == LIMIT_EXCEEDED and "limit of 3" in reply["error"]["message"]
    nested: object = 1
    for _ in range(8):
        nested = [nested]
    status, _, reply = _post(node.url, _call("eth_chainId", [nested]))
    assert "deeper than 6" in reply["error"]["message"]
    status, _, reply = _post(node.url, None, raw=b" " * 3000)
    assert status == 413 and "2048" in reply["error"]["message"]
    status, _, reply = _post(node.url, _call("eth_getLogs", [{"fromBlock": "0x0", "toBlock": "0x2"}]))
    assert reply["error"]["code"] == LIMIT_EXCEEDED and "max block range 2" in reply["error"]["message"]
    filters = [_post(node.url, _call("eth_newBlockFilter"))[2] for _ in range(3)]
    assert "result" in filters[0] and "result" in filters[1]
    assert filters[2]["error"]["code"] == LIMIT_EXCEEDED and "limit 2" in filters[2]["error"]["message"]


def test_websocket_connection_and_subscription_limits(limited):
    node, _ = limited
    ws_url = node.url.replace("http://", "ws://")

    async def scenario() -> tuple[dict, dict, int]:
        async with aiohttp.ClientSession() as session, session.ws_connect(ws_url) as ws:
            await ws.send_str(json.dumps(_call("eth_subscribe", ["newHeads"], 1)))
            first = json.loads((await ws.receive(timeout=10)).data)
            await ws.send_str(json.dumps(_call("eth_subscribe", ["newPendingTransactions"], 2)))
            second = json.loads((await ws.receive(timeout=10)).data)
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(ws_url)
            return first, second, refused.value.status

    first, second, status = asyncio.run(scenario())
    assert first["result"].startswith("0x")
    assert second["error"]["code"] == LIMIT_EXCEEDED and "at most 1 subscriptions" in second["error"]["message"]
    assert status == 503


def test_cors_only_for_configured_origins(limited):
    node, _ = limited
    preflight = {"Origin": "https://ops.bank.example", "Access-Control-Request-Method": "POST"}
    request = urllib.request.Request(node.url, headers=preflight, method="OPTIONS")
    with urllib.request.urlopen(request, timeout=10) as reply:
        assert reply.status == 204
        assert reply.headers["Access-Control-Allow-Origin"] == "https://ops.bank.example"
        assert "Authorization" in reply.headers["Access-Control-Allow-Headers"]
    other = urllib.request.Request(node.url, headers={**preflight, "Origin": "https://evil.example"}, method="OPTIONS")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(other, timeout=10)
    assert refused.value.code == 403
    _, headers, _ = _post(node.url, _call("eth_chainId"), {"Origin": "https://ops.bank.example"})
    assert headers["Access-Control-Allow-Origin"] == "https://ops.bank.example"
    _, headers, _ = _post(node.url, _call("eth_chainId"), {"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in headers


def test_rate_limit_answers_429_with_retry_after(tmp_path):
    home, _ = make_home(tmp_path, accounts=2)
    _write_toml(home, "[rpc]\nrate_per_s = 1\nrate_burst = 3\n")
    node = start_node(home)
    try:
        answers = [_post(node.url, _call("eth_chainId")) for _ in range(6)]
        limited = [a for a in answers if a[0] == 429]
        assert answers[0][0] == 200 and limited, [a[0] for a in answers]
        _, headers, reply = limited[0]
        assert int(headers["Retry-After"]) >= 1
        assert reply["error"]["code"] == LIMIT_EXCEEDED
        assert reply["error"]["data"]["retryAfterSeconds"] == int(headers["Retry-After"])
        time.sleep(int(headers["Retry-After"]) + 0.2)
        assert _post(node.url, _call("eth_chainId"))[0] == 200  # the bucket refilled
    finally:
        node.stop()


def test_tls_and_every_method_authenticated(tmp_path):
    home, _ = make_home(tmp_path, accounts=2)
    cert_path, _ = self_signed_rpc_certificate(home)
    _write_toml(home, '[rpc]\ntls_cert = "rpc-cert.pem"\ntls_key = "rpc-key.pem"\npublic_methods = "authenticated"\n')
    assert run_cli("rpc", "jwt-secret", "--home", str(home)).returncode == 0
    node = start_node(home)
    try:
        assert node.url.startswith("https://")
        context = ssl.create_default_context(cafile=str(cert_path))
        status, _, reply = _post(node.url, _call("eth_chainId"), context=context)
        assert status == 401 and reply["error"]["code"] == UNAUTHORIZED  # public_methods = "authenticated"
        token = run_cli("rpc", "jwt-token", "--home", str(home)).stdout.strip()
        status, _, reply = _post(node.url, _call("eth_chainId"), {"Authorization": f"Bearer {token}"}, context=context)
        assert status == 200 and reply["result"] == "0x539"
        status, _, reply = _post(node.url + "/graphql", {"query": "{ block { number } }"}, context=context)
        assert status == 401 and reply["error"]["code"] == UNAUTHORIZED  # GraphQL is no way around it
        with urllib.request.urlopen(node.url + "/health", context=context, timeout=10) as probe:
            assert probe.status in (200, 503)  # the probes stay open
        with pytest.raises(OSError):  # plain HTTP is not served on the TLS port
            _post(node.url.replace("https://", "http://"), _call("eth_chainId"))
    finally:
        node.stop()


@pytest.mark.parametrize("name", ["validator.key", "jwt.hex"])
def test_node_refuses_a_secret_file_others_can_read(tmp_path, name):
    home, _ = make_home(tmp_path, accounts=2)
    assert run_cli("rpc", "jwt-secret", "--home", str(home)).returncode == 0
    (home / name).chmod(0o644)
    with pytest.raises(RuntimeError) as refused:
        start_node(home, timeout=20)
    assert f"run: chmod 600 {home / name}" in str(refused.value)
