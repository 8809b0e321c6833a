"""`qenex bench ledger`: committed ledger transfers per second through a real node's JSON-RPC.

What one run does:
  1. writes a dev genesis into a temporary home (funded dev keys, one validator, the requested
     block interval) and pre-signs N one-transfer ledger transactions, round-robin
     over the sender keys, each debiting the sender's EUR account and crediting another dev
     key's, sequential nonces per sender, random 128-bit transfer ids;
  2. measures the anchor: raw secp256k1 public-key recoveries/s (coincurve, one thread, ~2 s);
  3. starts `python -m node.cli node run --rpc-port 0` as a subprocess and reads its URL;
  4. submits the transactions as JSON-RPC batches of eth_sendRawTransaction over a few HTTP
     connections (each connection owns a disjoint set of senders, so every sender's nonces
     arrive in order), while a poller fetches each new block with eth_getBlockByNumber and
     stamps its transactions with the time the block was observed;
  5. checks the outcome: every transaction in exactly one block, every transfer id booked by its
     transaction in that block, a random sample of receipts with status 0x1, every dev key's
     EUR balance equal to genesis plus the bench's credits minus its debits, an empty mempool.
     Anything else fails the run loudly (BenchError).

  committed transfers/s = N / (last block observed - first batch sent)
  latency of a transfer = its block observed - its batch sent (first attempt)

Two ways of sending. The burst (default) sends everything as fast as the node takes it: the
maximum-throughput figure, but its latencies are the queue in front of the chain. The open loop
(`rate=`, `--rate TX_PER_S`) releases batches on a fixed schedule, every `tick_ms`, carrying the
transactions due by then at that rate; a transaction's latency counts from its scheduled release,
not from when it was actually sent, so a sender held up by a slow node does not hide the queueing
(coordinated omission): the latency a steady flow of payments would see at that load.

The node and the temporary home are removed at the end, also on errors and Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import random
import select
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path

import aiohttp
import coincurve
from eth_hash.auto import keccak

from genesis.builder import DEV_BALANCE_MAJOR, DEV_CHAIN_ID, init_dev_home, init_network_homes
from ledger.transfer import Transfer
from ledger.tx import LedgerTransaction
from node.cluster import assign_ports, free_ports, share_host
from node.rpc.server import MAX_BATCH

BENCH_CURRENCY = "EUR"
MAX_AMOUNT_MINOR = 1000  # at most 10.00 EUR per transfer
DEFAULT_STREAMS = 2  # concurrent HTTP connections submitting batches
DEFAULT_TICK_MS = 50  # open loop: a batch per connection every tick
RECEIPT_SAMPLE = 200
TRANSFER_CHECK_BATCH = 1000
ANCHOR_SECONDS = 2.0
POLL_INTERVAL_S = 0.01
STALL_TIMEOUT_S = 60.0  # no new block for this long with transactions outstanding: fail
RETRY_DELAY_S = 0.05
NODE_START_TIMEOUT_S = 60.0
NODE_STOP_TIMEOUT_S = 15.0
RETRYABLE_RULES = ("mempool_full", "sender_limit")
PARSE_ERROR = -32700
NODE_PREFIX_VARIABLE = "QENEX_BENCH_NODE_PREFIX"  # a command to run the node under (a profiler)
LOG_DIR_VARIABLE = "QENEX_BENCH_LOG_DIR"  # keep each node's log there (the bench home is removed)


def _process_cpu(pid: int) -> float | None:
    """User+system CPU seconds of one process (Linux /proc), else None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _child_pids(pid: int) -> list[int]:
    """The direct children of `pid`, from every thread's children list (Linux /proc)."""
    children: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            children += [int(c) for c in (task / "children").read_text().split()]
    except OSError:
        return children
    return children


class BenchError(RuntimeError):
    """The benchmark could not run or its outcome is wrong (not all transfers committed and booked)."""


@dataclass(frozen=True, slots=True)
class SignedTransfer:
    """One pre-signed ledger transaction carrying one transfer."""

    sender: int  # index into the dev keys
    payee: int
    nonce: int
    transfer_id: int
    amount: int  # minor units
    tx_hash: str  # 0x hex, lower case (as eth_getBlockByNumber lists it)
    request: str  # the JSON-RPC eth_sendRawTransaction request object, pre-encoded


@dataclass
class BenchResult:
    transfers: int
    senders: int
    batch: int
    block_interval_ms: int
    streams: int
    validators: int
    committed: int
    blocks: int
    largest_block: int
    duration_s: float  # first batch sent -> last block observed
    transfers_per_s: float
    latency_p50_ms: float
    latency_p99_ms: float
    latency_max_ms: float
    submit_s: float  # first batch sent -> last batch answered
    admitted_per_s: float  # N / submit_s: the node's admission rate over RPC
    recoveries_per_s: float
    ratio: float  # transfers_per_s / recoveries_per_s
    sign_s: float
    retries: int  # transactions re-sent after mempool_full / sender_limit
    transfers_checked: int  # looked up one by one with qenex_getTransfer
    receipts_checked: int
    accounts_reconciled: int
    node_cpu_s: float | None  # node process CPU (user+system) during submit+commit, Linux only
    worker_cpu_s: float | None  # the nodes' child processes (signature workers), same span
    node_block_ms_total: float | None  # sum of the node's own block_committed timings
    client_cpu_s: float  # this process's CPU during submit+commit
    machine: dict = field(default_factory=dict)
    offered_per_s: float | None = None  # open loop: the rate batches were released at (None: burst)
    tick_ms: int | None = None  # open loop: the release period
    schedule_lag_max_ms: float | None = None  # open loop: how far behind schedule a batch left at worst


# --- progress --------------------------------------------------------------------------------


class Progress:
    """A one-line progress report on stderr (rewritten in place on a terminal)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.tty = enabled and sys.stderr.isatty()
        self._last = 0.0

    def show(self, text: str, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < (0.2 if self.tty else 2.0):
            return
        self._last = now
        if self.tty:
            sys.stderr.write("\r\x1b[K" + text)
        else:
            sys.stderr.write(text + "\n")
        sys.stderr.flush()

    def done(self, text: str) -> None:
        if not self.enabled:
            return
        if self.tty:
            sys.stderr.write("\r\x1b[K" + text + "\n")
        else:
            sys.stderr.write(text + "\n")
        sys.stderr.flush()
        self._last = 0.0


# --- preparation -----------------------------------------------------------------------------


def _eur_account(key: dict) -> str:
    for account in key["accounts"]:
        if account["currency"] == BENCH_CURRENCY:
            return account["id"]
    raise BenchError(f"dev key {key['address']} has no {BENCH_CURRENCY} account")


def presign(
    listing: list[dict], transfers: int, senders: int, chain_id: int, rng: random.Random, progress: Progress
) -> list[SignedTransfer]:
    """Sign `transfers` one-transfer transactions, round-robin over the first `senders` keys."""
    keys = [bytes.fromhex(key["private_key"].removeprefix("0x")) for key in listing]
    accounts = [_eur_account(key) for key in listing]
    others = len(listing) - 1
    signed: list[SignedTransfer] = []
    for index in range(transfers):
        sender, nonce = index % senders, index // senders
        payee = rng.randrange(others)
        if payee >= sender:
            payee += 1
        amount = rng.randint(1, MAX_AMOUNT_MINOR)
        transfer_id = rng.getrandbits(128) or 1
        transfer = Transfer(
            id=transfer_id,
            debit_account_id=accounts[sender],
            credit_account_id=accounts[payee],
            amount=amount,
            currency=BENCH_CURRENCY,
        )
        raw = LedgerTransaction(chain_id, nonce, (transfer,)).sign(keys[sender]).encode()
        tx_hash = "0x" + keccak(raw).hex()
        request = f'{{"jsonrpc":"2.0","id":{index},"method":"eth_sendRawTransaction","params":["0x{raw.hex()}"]}}'
        signed.append(SignedTransfer(sender, payee, nonce, transfer_id, amount, tx_hash, request))
        if index % 500 == 0:
            progress.show(f"signing transfers {index}/{transfers}")
    return signed


def measure_recoveries(seconds: float = ANCHOR_SECONDS) -> float:
    """Raw secp256k1 public-key recoveries per second: coincurve, one thread, no hashing."""
    pairs = []
    for i in range(64):
        key = coincurve.PrivateKey(keccak(f"qenex bench anchor {i}".encode()))
        message = keccak(f"message {i}".encode())
        pairs.append((key.sign_recoverable(message, hasher=None), message))
    recover = coincurve.PublicKey.from_signature_and_message
    for signature, message in pairs:  # warm up, and make sure recovery really works
        recover(signature, message, hasher=None)
    count = 0
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        for signature, message in pairs:
            recover(signature, message, hasher=None)
        count += len(pairs)
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - started)


def machine_info() -> dict:
    info: dict = {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "coincurve": _version("coincurve"),
    }
    if hasattr(os, "sched_getaffinity"):
        info["cpus_usable"] = len(os.sched_getaffinity(0))
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return info


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


# --- the node subprocess ---------------------------------------------------------------------


class NodeProcess:
    """`qenex node run` on the bench home, as a child process in its own session."""

    def __init__(self, home: Path, rpc_port: str = "0") -> None:
        self.home = home
        self.log_path = home / "node.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        source_root = str(Path(__file__).resolve().parent.parent)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (source_root, env.get("PYTHONPATH")) if p)
        # e.g. QENEX_BENCH_NODE_PREFIX="py-spy record -o node-{node}.svg --" profiles the node;
        # {node} becomes the node's home directory name (validator-0, ...), one profile per node
        prefix = shlex.split(os.environ.get(NODE_PREFIX_VARIABLE, ""))
        self.prefix = [part.replace("{node}", home.name) for part in prefix]
        self.process = subprocess.Popen(
            [
                *self.prefix,
                sys.executable,
                "-m",
                "node.cli",
                "node",
                "run",
                "--home",
                str(home),
                "--rpc-port",
                rpc_port,
                "--log-level",
                "info",
            ],
            stdout=subprocess.PIPE,
            stderr=self._log,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # Ctrl-C reaches the bench only; the bench stops the node
        )

    def wait_for_url(self, timeout: float = NODE_START_TIMEOUT_S) -> str:
        """Read stdout until the node prints `JSON-RPC: <url>`."""
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        deadline = time.monotonic() + timeout
        buffer = b""
        while True:
            for line in buffer.split(b"\n")[:-1]:
                text = line.decode(errors="replace").strip()
                if text.startswith("JSON-RPC:"):
                    return text.split(":", 1)[1].strip()
            left = deadline - time.monotonic()
            if left <= 0:
                raise BenchError(f"the node printed no JSON-RPC URL within {timeout:.0f}s{self.log_tail()}")
            ready, _, _ = select.select([fd], [], [], min(left, 0.5))
            if ready:
                chunk = os.read(fd, 4096)
                if not chunk:
                    self.process.wait(5)
                    raise BenchError(f"the node exited with code {self.process.returncode}{self.log_tail()}")
                buffer += chunk

    def cpu_seconds(self) -> float | None:
        """User+system CPU the node has used so far (Linux /proc), else None."""
        if self.prefix:
            return None  # the child is the wrapper, not the node
        return _process_cpu(self.process.pid)

    def worker_cpu_seconds(self) -> float | None:
        """CPU of the node's child processes (its signature workers) so far, else None."""
        if self.prefix:
            return None
        children = _child_pids(self.process.pid)
        times = [_process_cpu(pid) for pid in children]
        return sum(t for t in times if t is not None)

    def block_timings(self) -> list[dict]:
        """The node's block_committed log events (height, txs, ms)."""
        events = []
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return events
        for line in lines:
            if '"block_committed"' in line:
                try:
                    events.append(json.loads(line))
                except ValueError:
                    continue
        return events

    def log_tail(self, lines: int = 20) -> str:
        try:
            tail = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return ""
        return "\nnode log (last lines):\n  " + "\n  ".join(tail) if tail else ""

    def _signal_group(self, sig: int) -> None:
        """Signal the node's own process group (the node, and a profiler wrapping it)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)

    def stop(self) -> None:
        """SIGINT (the node stops cleanly; a profiler writes its output), SIGKILL after NODE_STOP_TIMEOUT_S."""
        process = self.process
        try:
            if process.poll() is None:
                self._signal_group(signal.SIGINT)
                try:
                    process.wait(NODE_STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    self._signal_group(signal.SIGKILL)
        finally:
            if process.poll() is None:
                self._signal_group(signal.SIGKILL)
            process.wait()
            if process.stdout is not None:
                process.stdout.close()
            self._log.close()
            if keep := os.environ.get(LOG_DIR_VARIABLE):
                Path(keep).mkdir(parents=True, exist_ok=True)
                shutil.copyfile(self.log_path, Path(keep) / f"{self.home.name}.log")


class ClusterProcesses:
    """N validator processes (node.cluster homes) behind the interface of one NodeProcess."""

    def __init__(self, homes: list[Path]) -> None:
        self.nodes: list[NodeProcess] = []
        try:
            for home in homes:
                self.nodes.append(NodeProcess(home, rpc_port="0"))
            self.urls = [node.wait_for_url() for node in self.nodes]
            self.wait_for_peers()
        except BaseException:
            self.stop()
            raise

    def wait_for_peers(self, timeout: float = NODE_START_TIMEOUT_S) -> None:
        """Until every validator is connected to all the others (net_peerCount): a transaction
        gossiped before then reaches the missing peer only when it connects (with the mempool),
        and meanwhile that peer parks the sender's later transactions: a start-up effect, not
        throughput."""
        deadline = time.monotonic() + timeout
        want = len(self.nodes) - 1
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "net_peerCount", "params": []}).encode()
        for url in self.urls:
            while True:
                request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
                with urllib.request.urlopen(request, timeout=5) as reply:
                    if int(json.loads(reply.read())["result"], 16) >= want:
                        break
                if time.monotonic() > deadline:
                    raise BenchError(f"{url} has not all {want} peers after {timeout:.0f}s{self.log_tail()}")
                time.sleep(0.1)

    def cpu_seconds(self) -> float | None:
        times = [node.cpu_seconds() for node in self.nodes]
        return None if any(t is None for t in times) else sum(times)  # type: ignore[misc]

    def worker_cpu_seconds(self) -> float | None:
        times = [node.worker_cpu_seconds() for node in self.nodes]
        return None if any(t is None for t in times) else sum(times)  # type: ignore[misc]

    def block_timings(self) -> list[dict]:
        return self.nodes[0].block_timings()

    def log_tail(self, lines: int = 20) -> str:
        return "".join(node.log_tail(lines) for node in self.nodes)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


# --- submission and commit tracking ------------------------------------------------------------


@dataclass
class _RunState:
    transactions: list[SignedTransfer]
    send_times: list[float]
    commit_times: list[float | None]
    commit_blocks: list[int]
    index_by_hash: dict[str, int]
    sent: int = 0
    committed: int = 0
    retries: int = 0
    blocks: int = 0
    largest_block: int = 0
    last_reply: float = 0.0
    sending_done: bool = False
    last_activity: float = field(default_factory=time.perf_counter)
    node_cpu: float | None = None  # node CPU seconds from first send to last commit
    worker_cpu: float | None = None  # the nodes' signature workers, same span
    client_cpu: float = 0.0  # this process's CPU seconds over the same span
    schedule: list[float] | None = None  # open loop: each transaction's scheduled release time
    lag_max: float = 0.0  # open loop: the most a batch left after its scheduled time


class _Rpc:
    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url

    async def post(self, body: str) -> object:
        async with self.session.post(self.url, data=body, headers={"Content-Type": "application/json"}) as reply:
            payload = await reply.read()
            if reply.status != 200:
                raise BenchError(f"the node answered HTTP {reply.status}: {payload[:300]!r}")
        return json.loads(payload)

    async def call(self, method: str, *params: object) -> object:
        reply = await self.post(json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}))
        if not isinstance(reply, dict) or "error" in reply:
            raise BenchError(f"{method} failed: {reply}")
        return reply["result"]

    async def batch(self, calls: list[tuple[str, list]]) -> list[dict]:
        body = json.dumps([{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)])
        replies = await self.post(body)
        if not isinstance(replies, list):
            raise BenchError(f"batch request failed: {replies}")
        by_id = {reply.get("id"): reply for reply in replies}
        return [by_id[i] for i in range(len(calls))]


def open_loop_schedule(count: int, rate: float, tick_s: float, start: float) -> list[float]:
    """Release time of each of `count` transactions offered at `rate` per second in batches every
    `tick_s`: transaction i is due at start + i / rate and leaves with the first batch at or after
    that (so every batch carries rate * tick_s transactions on average)."""
    if rate <= 0 or tick_s <= 0:
        raise BenchError("--rate and --tick-ms must be positive")
    return [start + math.ceil(i / rate / tick_s - 1e-9) * tick_s for i in range(count)]


async def _send_stream(rpc: _Rpc, state: _RunState, indices: list[int], batch: int) -> None:
    """Submit `indices` (ascending, so each sender's nonces in order) in batches, one at a time:
    as fast as the node answers (burst), or each transaction at its scheduled time (open loop)."""
    transactions, schedule = state.transactions, state.schedule
    queue = deque(indices)
    while queue:
        if schedule is None:
            chunk = [queue.popleft() for _ in range(min(batch, len(queue)))]
            now = time.perf_counter()
            for i in chunk:
                if not state.send_times[i]:
                    state.send_times[i] = now  # first attempt: a retry does not reset the clock
        else:
            due = schedule[queue[0]]
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            now = time.perf_counter()
            state.lag_max = max(state.lag_max, now - due)
            chunk = []
            while queue and len(chunk) < batch and schedule[queue[0]] <= now:
                chunk.append(queue.popleft())
            for i in chunk:
                state.send_times[i] = schedule[i]  # latency counts from the schedule (coordinated omission)
        body = "[" + ",".join(transactions[i].request for i in chunk) + "]"
        replies = await rpc.post(body)
        state.last_reply = state.last_activity = time.perf_counter()
        if not isinstance(replies, list):
            hint = ""
            if isinstance(replies, dict) and (replies.get("error") or {}).get("code") == PARSE_ERROR:
                hint = (
                    f" (a {len(body)}-byte body; the node has been seen to read only part of bodies over ~128 KB,"
                    " see docs/benchmarks.md: try a smaller --batch)"
                )
            raise BenchError(f"the node refused a batch of {len(chunk)}: {replies}{hint}")
        retry = _check_replies(state, chunk, replies)
        if retry:
            state.retries += len(retry)
            queue.extendleft(reversed(retry))  # chunk order is ascending, and before the rest
            await asyncio.sleep(RETRY_DELAY_S)


def _check_replies(state: _RunState, chunk: list[int], replies: list) -> list[int]:
    """Count the admitted; return the transactions to send again (mempool full, sender limit,
    and a sender's later nonces after such a refusal); fail on any other refusal."""
    transactions = state.transactions
    by_id = {reply.get("id"): reply for reply in replies}
    retry: list[int] = []
    limited: set[int] = set()
    for i in chunk:
        reply = by_id.get(i)
        tx = transactions[i]
        if reply is None:
            raise BenchError(f"no reply for transaction {i} in a batch")
        if "error" not in reply:
            if reply.get("result") != tx.tx_hash:
                raise BenchError(f"transaction {i}: the node reports hash {reply.get('result')}, not {tx.tx_hash}")
            state.sent += 1
            continue
        error = reply["error"]
        rule = (error.get("data") or {}).get("rule")
        if rule in RETRYABLE_RULES or (rule == "nonce_gap" and tx.sender in limited):
            limited.add(tx.sender)
            retry.append(i)
            continue
        raise BenchError(
            f"the node rejected transaction {i} (dev key {tx.sender}, nonce {tx.nonce}): "
            f"{error.get('message')} (rule {rule})"
        )
    return retry


async def _poll_blocks(rpc: _Rpc, state: _RunState, first_block: int) -> None:
    """Fetch every new block; stamp its transactions with the time it was observed."""
    total = len(state.transactions)
    number = first_block
    while state.committed < total:
        block = await rpc.call("eth_getBlockByNumber", hex(number), False)
        now = time.perf_counter()
        if block is None:
            if state.sending_done and now - state.last_activity > STALL_TIMEOUT_S:
                raise BenchError(
                    f"no new block for {STALL_TIMEOUT_S:.0f}s: {state.committed} of {total} transfers committed, "
                    f"{state.sent} admitted"
                )
            await asyncio.sleep(POLL_INTERVAL_S)
            continue
        hashes = block["transactions"]
        for tx_hash in hashes:
            index = state.index_by_hash.get(tx_hash)
            if index is None:
                raise BenchError(f"block {number} holds transaction {tx_hash} that the bench did not send")
            if state.commit_times[index] is not None:
                raise BenchError(
                    f"transaction {tx_hash} is in block {state.commit_blocks[index]} and in block {number}"
                )
            state.commit_times[index] = now
            state.commit_blocks[index] = number
        state.committed += len(hashes)
        state.blocks += 1
        state.largest_block = max(state.largest_block, len(hashes))
        state.last_activity = now
        number += 1


async def _report_progress(state: _RunState, progress: Progress) -> None:
    total = len(state.transactions)
    while True:
        progress.show(f"sending: admitted {state.sent}/{total}, committed {state.committed}/{total}")
        await asyncio.sleep(0.25)


@dataclass(frozen=True)
class _Checks:
    transfers_checked: int
    receipts_checked: int
    accounts_reconciled: int


async def _verify(rpc: _Rpc, state: _RunState, listing: list[dict], rng: random.Random) -> _Checks:
    """Fail unless every transfer is booked in the block it was seen in, with matching balances.

    Every transfer id is looked up (qenex_getTransfer: booked, by our transaction, in the block
    the poller saw it in); a random sample of receipts must have status 0x1; every dev key's
    EUR balance must equal genesis plus the bench's credits minus its debits; the mempool is empty.
    """
    transactions = state.transactions
    total = len(transactions)
    if state.committed != total or any(t is None for t in state.commit_times):
        raise BenchError(f"only {state.committed} of {total} transfers were committed")
    for start in range(0, total, TRANSFER_CHECK_BATCH):
        indices = range(start, min(start + TRANSFER_CHECK_BATCH, total))
        replies = await rpc.batch([("qenex_getTransfer", [hex(transactions[i].transfer_id)]) for i in indices])
        for i, reply in zip(indices, replies, strict=True):
            stored, tx = reply.get("result"), transactions[i]
            if stored is None:
                raise BenchError(f"transfer {tx.transfer_id:#x} of {tx.tx_hash} was not booked: {reply.get('error')}")
            if (
                stored["transactionHash"] != tx.tx_hash
                or int(stored["blockNumber"], 16) != state.commit_blocks[i]
                or stored["amount"] != str(tx.amount)
            ):
                raise BenchError(f"transfer {tx.transfer_id:#x} is booked differently than sent: {stored}")
    sample = rng.sample(range(total), min(RECEIPT_SAMPLE, total))
    receipts = await rpc.batch([("eth_getTransactionReceipt", [transactions[i].tx_hash]) for i in sample])
    for i, reply in zip(sample, receipts, strict=True):
        receipt, tx = reply.get("result"), transactions[i]
        if receipt is None:
            raise BenchError(f"no receipt for committed transaction {tx.tx_hash}: {reply.get('error')}")
        if receipt["status"] != "0x1":
            raise BenchError(f"transaction {tx.tx_hash} failed: {receipt.get('error')}")
        if int(receipt["blockNumber"], 16) != state.commit_blocks[i]:
            raise BenchError(
                f"receipt of {tx.tx_hash} names block {receipt['blockNumber']}, not {state.commit_blocks[i]}"
            )
    expected = [DEV_BALANCE_MAJOR * 100] * len(listing)
    for tx in transactions:
        expected[tx.sender] -= tx.amount
        expected[tx.payee] += tx.amount
    accounts = await rpc.batch([("qenex_getAccount", [_eur_account(key)]) for key in listing])
    for index, reply in enumerate(accounts):
        account = reply.get("result")
        if account is None or int(account["balance"]) != expected[index]:
            found = account["balance"] if account else reply.get("error")
            raise BenchError(
                f"dev key {index}'s {BENCH_CURRENCY} balance is {found}, expected {expected[index]}: "
                "not every transfer was booked"
            )
    pending = int((await rpc.call("qenex_mempoolStatus"))["pending"], 16)
    if pending:
        raise BenchError(f"{pending} transactions are still in the mempool")
    return _Checks(total, len(sample), len(listing))


async def _drive(
    node: NodeProcess | ClusterProcesses,
    urls: list[str],
    transactions: list[SignedTransfer],
    batch: int,
    streams: int,
    chain_id: int,
    listing: list[dict],
    rng: random.Random,
    progress: Progress,
    rate: float | None = None,
    tick_s: float = DEFAULT_TICK_MS / 1000,
) -> tuple[_RunState, _Checks]:
    """Submit over `streams` connections (stream i to node i mod len(urls): each sender's
    transactions go to one node, in nonce order), poll blocks and verify on the first node.
    With `rate`, each transaction leaves at its scheduled time (open loop), else at once."""
    total = len(transactions)
    state = _RunState(
        transactions, [0.0] * total, [None] * total, [0] * total, {t.tx_hash: i for i, t in enumerate(transactions)}
    )
    connector = aiohttp.TCPConnector(limit=streams + 2)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=600)) as session:
        rpc = _Rpc(session, urls[0])
        node_chain = int(await rpc.call("eth_chainId"), 16)
        if node_chain != chain_id:
            raise BenchError(f"the node runs chain {node_chain}, the transfers are signed for {chain_id}")
        first_block = int(await rpc.call("eth_blockNumber"), 16) + 1
        lanes: list[list[int]] = [[] for _ in range(streams)]
        for index, tx in enumerate(transactions):
            lanes[tx.sender % streams].append(index)
        node_cpu_before, client_cpu_before = node.cpu_seconds(), time.process_time()
        worker_cpu_before = node.worker_cpu_seconds()
        if rate is not None:
            state.schedule = open_loop_schedule(total, rate, tick_s, time.perf_counter() + 0.05)
        poller = asyncio.create_task(_poll_blocks(rpc, state, first_block))
        reporter = asyncio.create_task(_report_progress(state, progress))
        lane_tasks = [
            asyncio.create_task(_send_stream(_Rpc(session, urls[i % len(urls)]), state, lane, batch))
            for i, lane in enumerate(lanes)
            if lane
        ]
        try:
            running = {poller, *lane_tasks}
            while lane_tasks and not all(t.done() for t in lane_tasks):
                done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    task.result()  # a failed lane or poller ends the run
            state.sending_done = True
            state.last_activity = time.perf_counter()
            await poller
            node_cpu_after = node.cpu_seconds()
            state.client_cpu = time.process_time() - client_cpu_before
            if node_cpu_before is not None and node_cpu_after is not None:
                state.node_cpu = node_cpu_after - node_cpu_before
            worker_cpu_after = node.worker_cpu_seconds()
            if worker_cpu_before is not None and worker_cpu_after is not None:
                state.worker_cpu = worker_cpu_after - worker_cpu_before
        finally:
            for task in (reporter, poller, *lane_tasks):
                task.cancel()
            await asyncio.gather(reporter, poller, *lane_tasks, return_exceptions=True)
        progress.done(f"sending: admitted {state.sent}/{total}, committed {state.committed}/{total}")
        checks = await _verify(rpc, state, listing, rng)
    return state, checks


# --- the benchmark -----------------------------------------------------------------------------


def _percentile(ordered: list[float], percent: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, -(-len(ordered) * percent // 100))
    return ordered[int(rank) - 1]


def run_bench(
    transfers: int = 20_000,
    senders: int = 8,
    batch: int = 250,
    block_interval_ms: int = 500,
    streams: int = DEFAULT_STREAMS,
    progress: bool = True,
    seed: int | None = None,
    validators: int = 1,
    rate: float | None = None,
    tick_ms: int = DEFAULT_TICK_MS,
) -> BenchResult:
    """Run the whole benchmark against a fresh node; raise BenchError unless every transfer is booked."""
    if transfers < 1:
        raise BenchError("--transfers must be at least 1")
    if not 1 <= senders <= 1000:
        raise BenchError("--senders must be in 1..1000 (the dev genesis funds up to 1000 keys)")
    if not 1 <= batch <= MAX_BATCH:
        raise BenchError(f"--batch must be in 1..{MAX_BATCH} (the node's batch limit)")
    if block_interval_ms < 1:
        raise BenchError("--block-interval-ms must be positive")
    if -(-transfers // senders) * MAX_AMOUNT_MINOR > DEV_BALANCE_MAJOR * 100:
        raise BenchError("too many transfers per sender for the dev balances; add --senders")
    if not 1 <= validators <= 16:
        raise BenchError("--validators must be in 1..16")
    if rate is not None and (rate <= 0 or not 1 <= tick_ms <= 10_000):
        raise BenchError("--rate must be positive and --tick-ms in 1..10000")
    streams = max(1, min(max(streams, validators), senders))
    report = Progress(progress)
    rng = random.Random(seed)
    home = Path(tempfile.mkdtemp(prefix="qenex-bench-"))
    node: NodeProcess | ClusterProcesses | None = None
    try:
        if validators == 1:
            listing = init_dev_home(home, max(senders, 2), DEV_CHAIN_ID, block_interval_ms=block_interval_ms)
        else:
            listing, nodes = init_network_homes(home, validators, 0, max(senders, 2), DEV_CHAIN_ID, block_interval_ms,
                                                rpc_base_port=0, p2p_base_port=0)  # fmt: skip
            assign_ports(nodes, free_ports(len(nodes)), free_ports(len(nodes)))
            share_host(nodes)
        started = time.perf_counter()
        transactions = presign(listing, transfers, senders, DEV_CHAIN_ID, rng, report)
        sign_s = time.perf_counter() - started
        report.done(f"signed {transfers} transfers in {sign_s:.1f}s")
        report.show(f"anchor: secp256k1 recoveries for {ANCHOR_SECONDS:.0f}s", force=True)
        recoveries = measure_recoveries()
        report.done(f"anchor: {recoveries:,.0f} secp256k1 recoveries/s")
        if validators == 1:
            node = NodeProcess(home)
            urls = [node.wait_for_url()]
        else:
            node = ClusterProcesses([Path(n["home"]) for n in nodes])
            urls = node.urls
        report.done(f"{validators} validator(s) running at {', '.join(urls)}")
        try:
            state, checks = asyncio.run(
                _drive(
                    node, urls, transactions, batch, streams, DEV_CHAIN_ID, listing, rng, report, rate, tick_ms / 1000
                )
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise BenchError(f"lost a node at {urls}: {exc!r}{node.log_tail()}") from None
        blocks = node.block_timings()
    finally:
        if node is not None:
            node.stop()
        shutil.rmtree(home, ignore_errors=True)

    first_send = min(state.send_times)
    commit_times = [t for t in state.commit_times if t is not None]
    duration = max(commit_times) - first_send
    latencies = sorted((c - s) * 1000 for c, s in zip(commit_times, state.send_times, strict=True))
    submit_s = state.last_reply - first_send
    tps = transfers / duration
    return BenchResult(
        transfers=transfers,
        senders=senders,
        batch=batch,
        block_interval_ms=block_interval_ms,
        streams=streams,
        validators=validators,
        committed=state.committed,
        blocks=state.blocks,
        largest_block=state.largest_block,
        duration_s=round(duration, 3),
        transfers_per_s=round(tps, 1),
        latency_p50_ms=round(_percentile(latencies, 50), 1),
        latency_p99_ms=round(_percentile(latencies, 99), 1),
        latency_max_ms=round(latencies[-1], 1),
        submit_s=round(submit_s, 3),
        admitted_per_s=round(transfers / submit_s, 1),
        recoveries_per_s=round(recoveries, 1),
        ratio=round(tps / recoveries, 4),
        sign_s=round(sign_s, 3),
        retries=state.retries,
        transfers_checked=checks.transfers_checked,
        receipts_checked=checks.receipts_checked,
        accounts_reconciled=checks.accounts_reconciled,
        node_cpu_s=round(state.node_cpu, 2) if state.node_cpu is not None else None,
        worker_cpu_s=round(state.worker_cpu, 2) if state.worker_cpu is not None else None,
        node_block_ms_total=round(sum(float(b.get("ms", 0)) for b in blocks), 1) if blocks else None,
        client_cpu_s=round(state.client_cpu, 2),
        machine=machine_info(),
        offered_per_s=rate,
        tick_ms=tick_ms if rate is not None else None,
        schedule_lag_max_ms=round(state.lag_max * 1000, 1) if rate is not None else None,
    )


def format_result(r: BenchResult) -> str:
    m = r.machine
    if r.offered_per_s is None:
        sending = f"batches of {r.batch} over {r.streams} connection(s) at once (burst)"
        measured_from = "batch sent"
    else:
        sending = (
            f"open loop: {r.offered_per_s:,.0f} tx/s offered, a batch per connection every {r.tick_ms} ms "
            f"over {r.streams} connection(s)"
        )
        measured_from = "scheduled send"
    lines = [
        f"qenex bench ledger: {r.validators} validator(s), {r.transfers} transfers, {r.senders} senders, "
        f"{sending}, block interval {r.block_interval_ms} ms",
        f"  committed      {r.committed} transfers in {r.blocks} blocks (largest {r.largest_block}) "
        f"in {r.duration_s:.2f}s",
        f"  throughput     {r.transfers_per_s:,.0f} committed transfers/s"
        + (f" at {r.offered_per_s:,.0f} tx/s offered" if r.offered_per_s is not None else ""),
        f"  latency        p50 {r.latency_p50_ms:,.0f} ms, p99 {r.latency_p99_ms:,.0f} ms "
        f"(max {r.latency_max_ms:,.0f} ms), {measured_from} -> block observed",
        f"  admission      all admitted in {r.submit_s:.2f}s ({r.admitted_per_s:,.0f} tx/s over RPC, "
        f"{r.retries} retried)",
        f"  anchor         {r.recoveries_per_s:,.0f} secp256k1 recoveries/s (coincurve, 1 thread)",
        f"  ratio          transfers/s / recoveries/s = {r.ratio:.4f}",
    ]
    if r.schedule_lag_max_ms is not None:
        lines.append(
            f"  schedule       batches left at most {r.schedule_lag_max_ms:,.0f} ms after their scheduled time"
        )
    if r.node_cpu_s is not None:
        busy = r.node_cpu_s / r.duration_s * 100 if r.duration_s else 0
        blocks = f"; {r.node_block_ms_total / 1000:.2f}s producing blocks" if r.node_block_ms_total else ""
        lines.append(
            f"  cpu            node(s) {r.node_cpu_s:.2f}s ({busy:.0f}% of one core){blocks}; "
            f"signature workers {r.worker_cpu_s or 0:.2f}s; bench client {r.client_cpu_s:.2f}s"
        )
    lines += [
        f"  checks         {r.transfers_checked} transfers booked in the observed block, {r.receipts_checked} "
        f"sampled receipts status 0x1, {r.accounts_reconciled} EUR balances reconciled, mempool empty",
        f"  machine        {m.get('nproc')} CPUs ({m.get('cpu', 'unknown model')}), "
        f"{m.get('implementation')} {m.get('python')}, {m.get('platform')}",
    ]
    return "\n".join(lines)


def run_cli(args: argparse.Namespace) -> int:
    """Entry point of `qenex bench ledger` (node/cli.py builds the parser)."""
    try:
        result = run_bench(
            args.transfers, args.senders, args.batch, args.block_interval_ms, progress=True,
            validators=args.validators, rate=getattr(args, "rate", None),
            tick_ms=getattr(args, "tick_ms", DEFAULT_TICK_MS),
        )  # fmt: skip
    except BenchError as exc:
        print(f"error: bench failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted; node stopped and bench home removed", file=sys.stderr)
        return 130
    if args.json:
        print(json.dumps(asdict(result)))
    else:
        print(format_result(result))
    return 0
