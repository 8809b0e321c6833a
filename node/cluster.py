"""`qenex devnet --validators N`: one `qenex node run` process per node on 127.0.0.1, supervised.

The supervisor creates the homes once (genesis.builder.init_network_homes), starts every node as
its own process (so a node can be killed, paused or restarted alone, exactly as in production),
waits for each to print its JSON-RPC URL, and writes DIR/devnet.json for scripts and tests. On
SIGINT/SIGTERM it stops the nodes with SIGTERM (each stores nothing half-done: a block is one
synced write batch) and waits for them.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from genesis.builder import DEV_ACCOUNTS_FILE, NODE_CONFIG_FILE, init_network_homes
from node.config import CONFIG_FILE
from node.sigpool import default_workers

DEVNET_FILE = "devnet.json"
START_TIMEOUT_S = 60


@dataclass
class ClusterNode:
    name: str
    role: str
    home: Path
    process: subprocess.Popen
    rpc_url: str
    p2p: str

    def describe(self) -> dict:
        return {
            "name": self.name,
            "role": self.role,
            "pid": self.process.pid,
            "home": str(self.home),
            "data_dir": str(self.home / "data"),
            "rpc_url": self.rpc_url,
            "p2p": self.p2p,
            "log": str(self.home / "node.log"),
        }


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind((host, 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def prepare(
    home: Path,
    validators: int,
    full_nodes: int,
    accounts: int,
    block_interval_ms: int,
    rpc_base_port: int,
    p2p_base_port: int,
) -> list[dict]:
    """Create the network's homes unless they exist; return each node's home and role."""
    home = Path(home)
    if (home / "genesis.json").exists():
        raise FileExistsError(f"{home} holds a one-validator devnet; choose another --home or pass --reset")
    names = sorted(p.name for p in home.glob("*") if (p / NODE_CONFIG_FILE).exists()) if home.exists() else []
    if names:
        existing = [json.loads((home / n / NODE_CONFIG_FILE).read_text()) | {"home": str(home / n)} for n in names]
        if sum(1 for n in existing if n["role"] == "validator") != validators:
            raise FileExistsError(f"{home} holds a devnet of another size; pass --reset to make a new one")
        return existing
    count = validators + full_nodes
    rpc_ports = free_ports(count) if rpc_base_port == 0 else [rpc_base_port + i for i in range(count)]
    p2p_ports = free_ports(count) if p2p_base_port == 0 else [p2p_base_port + i for i in range(count)]
    _, nodes = init_network_homes(home, validators, full_nodes, accounts, block_interval_ms=block_interval_ms,
                                  rpc_base_port=0, p2p_base_port=0)  # fmt: skip
    assign_ports(nodes, rpc_ports, p2p_ports)
    share_host(nodes)
    return nodes


def share_host(nodes: list[dict]) -> None:
    """Give each new home a node.toml sized for nodes that share this machine's cores.

    Left to "auto", every node would start a signature worker per spare core as if it ran alone,
    and N nodes on a few cores would spend more CPU in total than recovering in their event loops
    (node.sigpool.default_workers). Written into the home, not passed at start, so a node
    restarted alone with `qenex node run --home` keeps the same setting; an operator's own
    node.toml is left as it is."""
    workers = default_workers(len(nodes))
    for node in nodes:
        path = Path(node["home"]) / CONFIG_FILE
        if not path.exists():
            path.write_text(
                f"# {len(nodes)} nodes of one devnet share this machine's {os.cpu_count()} cores\n"
                f"[signatures]\nworkers = {workers}\n"
            )


def assign_ports(nodes: list[dict], rpc_ports: list[int], p2p_ports: list[int]) -> None:
    """Write the chosen ports into every node's own node.json entry and into its peers' entries."""
    for node, rpc_port, p2p_port in zip(nodes, rpc_ports, p2p_ports, strict=True):
        node["rpc"]["port"], node["p2p"]["port"] = rpc_port, p2p_port
    by_name = {n["name"]: n for n in nodes}
    for node in nodes:
        path = Path(node["home"]) / NODE_CONFIG_FILE
        config = json.loads(path.read_text())
        config["rpc"], config["p2p"] = node["rpc"], node["p2p"]
        for peer in config["peers"]:
            peer["p2p"] = by_name[peer["name"]]["p2p"]
        path.write_text(json.dumps(config, indent=2) + "\n")


def start_node(home: Path, log_level: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """Start one node and wait until it serves JSON-RPC; return its process and RPC URL."""
    process = spawn_node(home, log_level, env)
    return process, await_rpc_url(process, home)


def spawn_node(home: Path, log_level: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start `qenex node run` for `home` without waiting for it (see await_rpc_url)."""
    log = open(home / "node.log", "a")  # noqa: SIM115 - handed to the child for its lifetime
    process = subprocess.Popen(
        [sys.executable, "-m", "node.cli", "node", "run", "--home", str(home), "--log-level", log_level],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        start_new_session=True,  # Ctrl-C reaches the supervisor, which stops the nodes in order
    )
    log.close()
    return process


def await_rpc_url(process: subprocess.Popen, home: Path) -> str:
    """The RPC URL a spawned node prints once it serves; the node is killed if it never does."""
    deadline = time.monotonic() + START_TIMEOUT_S
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith("JSON-RPC: "):
            return line.split(" ", 1)[1].strip()
        if not line and process.poll() is not None:
            break
    process.kill()
    raise RuntimeError(f"node {home.name} did not start; see {home / 'node.log'}")


def start_cluster(
    home: Path, nodes: list[dict], log_level: str, on_started: Callable[[ClusterNode, int], None] | None = None
) -> list[ClusterNode]:
    """Start every node and wait for each to serve; `on_started(node, count)` reports progress.

    All processes are spawned before any is waited for: a node's start-up is mostly importing and
    opening its store, so on a machine with several cores they overlap, and peers that are not up
    yet are redialled with backoff anyway."""
    spawned: list[tuple[dict, subprocess.Popen]] = []
    started: list[ClusterNode] = []
    try:
        for node in nodes:
            spawned.append((node, spawn_node(Path(node["home"]), log_level)))
        for node, process in spawned:
            node_home = Path(node["home"])
            config = json.loads((node_home / NODE_CONFIG_FILE).read_text())
            url = await_rpc_url(process, node_home)
            p2p = f"{config['p2p']['host']}:{config['p2p']['port']}"
            started.append(ClusterNode(config["name"], config["role"], node_home, process, url, p2p))
            if on_started is not None:
                on_started(started[-1], len(started))
    except BaseException:
        waiting = [process for _, process in spawned[len(started) :]]
        for process in waiting:
            if process.poll() is None:
                process.kill()
            process.wait()
        stop_cluster(started)
        raise
    write_devnet_file(home, started)
    return started


def write_devnet_file(home: Path, nodes: list[ClusterNode]) -> None:
    data = {
        "dev_accounts": str(Path(home) / DEV_ACCOUNTS_FILE),
        "supervisor_pid": os.getpid(),
        "nodes": [n.describe() for n in nodes],
    }
    (Path(home) / DEVNET_FILE).write_text(json.dumps(data, indent=2) + "\n")


def stop_cluster(nodes: list[ClusterNode], timeout: float = 20) -> None:
    for node in nodes:
        if node.process.poll() is None:
            node.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for node in nodes:
        try:
            node.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            node.process.kill()
            node.process.wait()
