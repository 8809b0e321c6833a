"""Operator login at a running node over HTTP: password + TOTP give a session that calls admin
methods; wrong codes lock the operator; logout revokes; every step is in the audit log, which
`qenex audit verify` accepts, and the CLI `operator login` speaks the same endpoint."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pyotp
from support.nodes import run_cli, start_node

from node.audit import verify_log
from node.operators import LOCKOUT_FAILURES

PASSWORD = "correct horse battery"


def _http(url: str, body: object = None, token: str | None = None) -> tuple[int, dict, dict]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data, headers, method="GET" if body is None else "POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, dict(reply.headers), json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read() or b"{}")


def _add(home, name: str, role: str) -> str:
    (home / "pw").write_text(PASSWORD)
    added = run_cli("operator", "add", name, "--role", role, "--home", str(home), "--password-file", str(home / "pw"))
    assert added.returncode == 0, added.stderr
    return json.loads(added.stdout)["totp_secret"]


def test_login_session_admin_call_logout_and_audit(node_home):
    home, _ = node_home
    secret = _add(home, "alice", "operator")
    auditor_secret = _add(home, "erin", "auditor")
    node = start_node(home)
    try:
        login = node.url + "/admin/login"
        status, _, reply = _http(login, {"operator": "alice", "password": PASSWORD, "totp": "000000"})
        assert status == 401 and reply["error"] == "login refused"
        status, _, reply = _http(login, {"operator": "alice", "password": PASSWORD,
                                         "totp": pyotp.TOTP(secret).now(), "lifetime_s": 9 * 3600})  # fmt: skip
        assert status == 400 and "28800" in reply["error"]  # sessions last at most 8 h
        time.sleep(0.1)
        result = run_cli(
            "operator",
            "login",
            "alice",
            "--url",
            node.url,
            "--password-file",
            str(home / "pw"),
            "--totp",
            pyotp.TOTP(secret).at(time.time() + 30),
        )  # fmt: skip  (next step: not yet spent)
        assert result.returncode == 0, result.stderr
        token = result.stdout.strip()
        status, _, reply = _http(node.url, {"jsonrpc": "2.0", "id": 1, "method": "admin_nodeInfo"}, token)
        assert status == 200 and reply["result"]["chainId"] == "0x539"
        assert _http(node.url + "/admin/session", token=token)[2] == {"name": "alice", "roles": ["operator"],
                                                                      "via": "session"}  # fmt: skip
        status, _, reply = _http(login, {"operator": "erin", "password": PASSWORD,
                                         "totp": pyotp.TOTP(auditor_secret).now()})  # fmt: skip
        status, _, refused = _http(node.url, {"jsonrpc": "2.0", "id": 1, "method": "admin_nodeInfo"}, reply["token"])
        assert status == 403 and "auditor" in refused["error"]["message"]  # a session carries its operator's role
        assert run_cli("operator", "logout", "--url", node.url, "--token", token).returncode == 0
        status, _, reply = _http(node.url, {"jsonrpc": "2.0", "id": 1, "method": "admin_nodeInfo"}, token)
        assert status == 401 and "revoked" in reply["error"]["message"]

        for _ in range(LOCKOUT_FAILURES):
            status, _, _ = _http(login, {"operator": "erin", "password": "wrong password!!", "totp": "123456"})
            assert status == 401
        status, headers, reply = _http(login, {"operator": "erin", "password": PASSWORD,
                                               "totp": pyotp.TOTP(auditor_secret).at(time.time() + 30)})  # fmt: skip
        assert status == 401 and "locked" in reply["error"] and int(headers["Retry-After"]) > 0
        listed = [json.loads(line) for line in run_cli("operator", "list", "--home", str(home)).stdout.splitlines()]
        assert {o["name"]: o["locked"] for o in listed} == {"alice": False, "erin": True}
    finally:
        node.stop()

    count, problems = verify_log(home)
    assert problems == [] and count >= 10
    entries = [json.loads(line) for line in (home / "audit.log").read_text().splitlines()]
    seen = {(e["actor"], e["action"], e["outcome"]) for e in entries}
    assert {("alice", "login", "refused"), ("alice", "login", "ok"), ("alice", "admin_nodeInfo", "called"),
            ("erin", "admin_nodeInfo", "forbidden"), ("alice", "logout", "ok")} <= seen  # fmt: skip
    assert run_cli("audit", "verify", "--home", str(home)).returncode == 0
