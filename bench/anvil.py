"""Anvil (Foundry's dev chain, from npm @foundry-rs/anvil-linux-amd64) as a stand-in for a public
EVM chain: the deploy test sends our artifacts to it, and the EVM benchmark measures it beside
our node in the same run. `npm ci` installs it into bench/npm/node_modules on first use."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

NPM_DIR = Path(__file__).resolve().parent / "npm"
BINARY = NPM_DIR / "node_modules" / ".bin" / "anvil"
# Anvil's first default account (the public "test test ... junk" mnemonic): never a real key.
DEFAULT_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


class AnvilError(RuntimeError):
    """Anvil could not be installed or started; the message says why."""


def anvil_binary() -> Path:
    if not BINARY.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise AnvilError("npm is needed to install Anvil (@foundry-rs/anvil-linux-amd64)")
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=NPM_DIR, capture_output=True, text=True, timeout=600
        )
        if result.returncode != 0 or not BINARY.exists():
            raise AnvilError(f"npm ci in {NPM_DIR} failed:\n{result.stderr[-2000:]}")
    return BINARY


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Anvil:
    process: subprocess.Popen
    url: str

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_anvil(chain_id: int = 31337, block_time_s: float | None = None, timeout: float = 30) -> Anvil:
    """Start Anvil on a free 127.0.0.1 port; automine unless `block_time_s` is given."""
    port = _free_port()
    command = [str(anvil_binary()), "--host", "127.0.0.1", "--port", str(port), "--chain-id", str(chain_id), "--silent"]
    if block_time_s is not None:
        command += ["--block-time", str(block_time_s)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AnvilError(f"anvil exited: {process.stderr.read().decode()[-2000:] if process.stderr else ''}")
        try:
            request = urllib.request.Request(
                url, data=b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}',
                headers={"Content-Type": "application/json"},
            )  # fmt: skip
            with urllib.request.urlopen(request, timeout=2):
                return Anvil(process, url)
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise AnvilError(f"anvil did not answer on {url} within {timeout} s")
