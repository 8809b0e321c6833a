"""ethers.js (npm, installed into tests/ethers/ by npm ci) against a running node: a transfer, a
deploy, a call and a log subscription over WebSocket, with no special cases."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from contracts.compiler import ARTIFACTS_DIR

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def ethers_installed():
    npm = shutil.which("npm")
    assert npm is not None and shutil.which("node") is not None, "Node.js and npm are needed (CI has them)"
    if not (HERE / "node_modules" / "ethers" / "package.json").is_file():
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=HERE, capture_output=True, text=True, timeout=600
        )
        assert result.returncode == 0, result.stderr[-2000:]


def test_ethers_transfer_deploy_call_and_subscription(ethers_installed, running_node):
    node, listing = running_node
    result = subprocess.run(
        ["node", "smoke.mjs", node.url, node.url.replace("http://", "ws://"), listing[0]["private_key"],
         str(ARTIFACTS_DIR / "TestToken.json")],
        cwd=HERE, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:] + node.log()[-2000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["chainId"] == 1337
    assert (seen["transferStatus"], seen["payeeBalance"]) == (1, "12345")
    assert (seen["symbol"], seen["decimals"]) == ("EUR", 2)
    assert seen["event"]["value"] == "777" and seen["balance"] == "777"
