"""`qenex gateway serve --require-login` in front of a real node: no session, a revoked one or one of
the wrong role is refused; an operator logged in at the node with password + TOTP gets through."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pyotp
from support.nodes import REPO, run_cli

PASSWORD = "correct horse battery"


def _request(url: str, body: bytes | None = None, token: str | None = None) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, data=body, headers=headers, method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _login(node_url: str, home: Path, name: str, secret: str) -> str:
    done = run_cli("operator", "login", name, "--url", node_url, "--password-file", str(home / "pw"),
                   "--totp", pyotp.TOTP(secret).now())  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_gateway_answers_only_logged_in_operators(running_node, tmp_path: Path) -> None:
    node, listing = running_node
    (node.home / "pw").write_text(PASSWORD)
    secrets = {}
    for name, role in (("gwop", "gateway"), ("audit", "auditor")):
        added = run_cli("operator", "add", name, "--role", role, "--home", str(node.home),
                        "--password-file", str(node.home / "pw"))  # fmt: skip
        assert added.returncode == 0, added.stderr
        secrets[name] = json.loads(added.stdout)["totp_secret"]
    process = subprocess.Popen(
        [sys.executable, "-m", "node.cli", "gateway", "serve", "--rpc", node.url, "--from", listing[0]["private_key"],
         "--port", "0", "--require-login"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        line = process.stdout.readline() if process.stdout else ""
        assert line.startswith("Gateway REST: "), process.stderr.read() if process.stderr else line
        url = line.split(" ", 2)[2].strip()
        assert _request(f"{url}/openapi.json")[0] == 200  # the description stays open
        message = b"{1:F01BANKDEFFAXXX0000000000}{2:I103BANKDEFFXXXXN}{4:\n:20:X\n-}"
        status, reply = _request(f"{url}/messages", message)
        assert status == 401 and "qenex operator login" in reply["error"]
        assert _request(f"{url}/messages", message, "not-a-session")[0] == 401
        jwt_token = run_cli("rpc", "jwt-token", "--home", str(node.home)).stdout.strip()
        assert _request(f"{url}/messages", message, jwt_token)[0] == 401  # a tool's JWT is not an operator

        auditor = _login(node.url, node.home, "audit", secrets["audit"])
        status, reply = _request(f"{url}/messages", message, auditor)
        assert status == 403 and "auditor" in reply["error"]

        token = _login(node.url, node.home, "gwop", secrets["gwop"])
        status, reply = _request(f"{url}/messages", message, token)
        assert status == 422 and reply["problems"]  # through the login check, to the message's own problems
        assert run_cli("operator", "logout", "--url", node.url, "--token", token).returncode == 0
        time.sleep(0.1)
        assert _request(f"{url}/messages", message, token)[0] == 401  # revoked at the node: refused here too
    finally:
        process.terminate()
        assert process.wait(timeout=15) == 0
