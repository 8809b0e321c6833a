"""A real multi-process network for the fault tests: `qenex node run` processes over TLS on 127.0.0.1.

Every test ends with `assert_consistent`: all nodes stopped, identical block hashes and state roots
at every common height, `qenex ledger verify` passing on every node, and every transaction whose
receipt was returned still booked in the same block everywhere.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from consensus.commit import ValidatorPower, ValidatorSet, commit_signers
from genesis.builder import VALIDATOR_KEY_FILE, enable_screening
from ledger.tx import address_of_key
from node.cluster import ClusterNode, prepare, start_cluster, start_node, stop_cluster
from node.rpc.auth import home_credentials
from node.rpc.client import RpcClient
from support.nodes import run_cli, signed_transfer

_transfer_ids = itertools.count(int(time.time() * 1000) << 16)


@dataclass
class Network:
    home: Path
    nodes: list[ClusterNode]
    listing: list[dict]
    receipts: dict[str, dict] = field(default_factory=dict)  # tx hash -> receipt seen by a client
    nonces: dict[int, int] = field(default_factory=dict)

    def rpc(self, index: int) -> RpcClient:
        return RpcClient(self.nodes[index].rpc_url, timeout=10)

    def operator_rpc(self, index: int) -> RpcClient:
        """Node `index`'s client authenticated as its operator (its HOME/jwt.hex)."""
        return RpcClient(self.nodes[index].rpc_url, timeout=10, headers=home_credentials(self.nodes[index].home))

    def alive(self) -> list[int]:
        return [i for i, n in enumerate(self.nodes) if n.process.poll() is None]

    def height(self, index: int) -> int:
        return int(self.rpc(index).call("eth_blockNumber"), 16)

    def kill(self, index: int, sig: int = signal.SIGKILL) -> None:
        node = self.nodes[index]
        node.process.send_signal(sig)
        if sig in (signal.SIGKILL, signal.SIGTERM):
            node.process.wait(timeout=30)

    def restart(self, index: int, wipe: bool = False) -> None:
        node = self.nodes[index]
        if wipe:
            shutil.rmtree(node.home / "data")
        node.process, node.rpc_url = start_node(node.home, "info")

    def send(self, count: int, via: list[int] | None = None) -> list[str]:
        """Sign and send `count` transfers round-robin over the given nodes (default: all alive).

        Each node gets its own paying dev key, as each bank's clients talk to their own node: a
        mempool takes a sender's nonces in order, and gossip between nodes is not instantaneous."""
        via = via if via is not None else self.alive()
        hashes = []
        for k in range(count):
            index = via[k % len(via)]
            payer = index % len(self.listing)
            if payer not in self.nonces:
                address = self.listing[payer]["address"]
                self.nonces[payer] = int(self.rpc(index).call("eth_getTransactionCount", address, "pending"), 16)
            raw = signed_transfer(self.listing, payer, (payer + 1) % len(self.listing), 100 + k,
                                  self.nonces[payer], next(_transfer_ids))  # fmt: skip
            hashes.append(self.rpc(index).call("eth_sendRawTransaction", "0x" + raw.hex()))
            self.nonces[payer] += 1
        return hashes

    def wait_receipts(self, hashes: list[str], index: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        pending = [h for h in hashes if h not in self.receipts]
        while pending:
            receipt = self.rpc(index).call("eth_getTransactionReceipt", pending[0])
            if receipt is not None:
                self.receipts[pending.pop(0)] = receipt
                continue
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(pending)} transaction(s) without a receipt on node {index} after {timeout}s")
            time.sleep(0.05)

    def wait_height(self, index: int, height: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.height(index) >= height:
                    return
            except ConnectionError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"node {index} did not reach height {height} in {timeout}s")

    def signers(self, index: int, number: int) -> set[str]:
        block = self.rpc(index).call("eth_getBlockByNumber", hex(number), False)
        info = self.rpc(index).call("qenex_getValidators", number)  # the set that decided this block
        validators = ValidatorSet(ValidatorPower(v["address"], v["power"]) for v in info["validators"])
        signatures = [bytes.fromhex(s[2:]) for s in block["commit"]]
        return {s.lower() for s in commit_signers(bytes.fromhex(block["hash"][2:]), signatures, validators)}

    def address(self, index: int) -> str:
        key = (self.nodes[index].home / VALIDATOR_KEY_FILE).read_text().strip()
        return address_of_key(bytes.fromhex(key[2:])).lower()

    def stop(self) -> None:
        for node in self.nodes:
            if node.process.poll() is None:
                os.kill(node.process.pid, signal.SIGCONT)
        stop_cluster(self.nodes)

    def assert_consistent(self) -> None:
        """Stop everything; then compare the chains on disk and replay each ledger."""
        heads = {}
        for index in self.alive():
            heads[index] = self.height(index)
        blocks: dict[int, dict[int, tuple[str, str]]] = {}
        common = min(heads.values())
        for index in heads:
            rpc = self.rpc(index)
            blocks[index] = {}
            for number in range(0, common + 1):
                block = rpc.call("eth_getBlockByNumber", hex(number), False)
                blocks[index][number] = (block["hash"], block["stateRoot"])
            for tx_hash, receipt in self.receipts.items():
                again = rpc.call("eth_getTransactionReceipt", tx_hash)
                if int(receipt["blockNumber"], 16) <= heads[index]:
                    assert again is not None and again["blockHash"] == receipt["blockHash"], (index, tx_hash)
            status = rpc.call("qenex_consensusStatus")
            assert status["evidence"] == [], f"node {index} saw equivocation: {status['evidence']}"
        reference = next(iter(blocks.values()))
        for index, chain in blocks.items():
            assert chain == reference, f"node {index} differs from node {next(iter(blocks))}"
        self.stop()
        for node in self.nodes:
            result = run_cli("ledger", "verify", "--home", str(node.home))
            assert result.returncode == 0, f"{node.name}: {result.stdout}{result.stderr}"


def start_network(tmp_path: Path, validators: int = 4, full_nodes: int = 0, interval_ms: int = 300,
                  start_full_nodes: bool = True, screening_model: Path | None = None,
                  hold_expiry_seconds: int = 3600) -> Network:  # fmt: skip
    home = tmp_path / "net"
    nodes = prepare(home, validators, full_nodes, validators + full_nodes + 1, interval_ms, 0, 0)
    if screening_model is not None:  # the same genesis change in every home, before the first start
        for node in nodes:
            enable_screening(Path(node["home"]), screening_model, hold_expiry_seconds, label_delay_seconds=0)
    to_start = nodes if start_full_nodes else [n for n in nodes if n["role"] == "validator"]
    cluster = start_cluster(home, to_start, "info")
    listing = json.loads((home / "dev-accounts.json").read_text())
    return Network(home, cluster, listing)
