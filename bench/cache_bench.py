"""`qenex bench cache`: balance reads per second and p99 latency per cache backend, against reading
the same balances from LevelDB directly in the same run, and JSON-RPC balance reads with 0, 1 and
2 `--rpc-workers`.

What one run does:
  1. writes N accounts (random balances) into a fresh LevelDB exactly as the ledger stores them
     (`La` + id -> encoded account) and loads the same balances into each backend available here
     (memory, shm; kernel where /dev/qenex_banking exists);
  2. anchor: single reads of random accounts from LevelDB (get + decode, as an uncached ledger
     read), for `--seconds`; then the same random reads from each backend; each read is timed
     alone for p99. Every backend's answers are checked against the accounts written;
  3. multi-process: P processes read the shm table at once, for `--seconds`: aggregate reads/s
     (LevelDB has no multi-process figure: one process may open it);
  4. RPC: a dev node is started with --rpc-workers 0, 1 and 2 in turn (two interleaved rounds,
     best of each); 3 client processes x 2 keep-alive connections call qenex_getBalances for
     `--seconds`: calls/s per setting, as a ratio to the 0-worker figure of the same run.
The kernel device cannot be loaded on these machines; `make -C kernel vm-test` prints its read
figures from inside the VM (emulated CPU), and this bench shows them when that log exists.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import plyvel

from kernel.abi import DEVICE_PATH
from kernel.cache import Balance, BalanceCache, InProcessCache
from kernel.shm import SharedMemoryCache
from ledger.account import Account, AccountFlags
from ledger.codec import decode_account, encode_account
from ledger.store import ACCOUNT

OWNER = "0x" + "11" * 20
RPC_CLIENTS = 3  # client processes for the JSON-RPC figures
RPC_CONNECTIONS_PER_CLIENT = 2
RPC_ROUNDS = 2
VM_LOG = Path(__file__).resolve().parents[1] / "kernel" / "build" / "serial.log"


class BenchError(RuntimeError):
    pass


@dataclass
class Figure:
    name: str
    reads_per_s: float
    p99_us: float | None
    ratio_to_leveldb: float


@dataclass
class CacheBenchResult:
    accounts: int
    seconds: float
    single: list[Figure] = field(default_factory=list)
    multi_process: dict[str, float] = field(default_factory=dict)
    rpc: dict[str, float] = field(default_factory=dict)
    kernel_vm: dict[str, float] | None = None
    load_average: float = 0.0  # 1-minute load at the end: other work on the machine lowers every figure
    notes: list[str] = field(default_factory=list)


def _account(i: int, rng: random.Random) -> Account:
    return Account(
        id=f"GL:BENCH:{i:08d}",
        currency="EUR",
        owner=OWNER,
        flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
        debits_posted=rng.randrange(10**6),
        credits_posted=10**6 + rng.randrange(10**9),
    )


def _measure(read: object, keys: list[str], seconds: float) -> tuple[float, float]:
    """(reads/s, p99 µs) of single reads of random keys for about `seconds`."""
    clock = time.perf_counter_ns
    samples: list[int] = []
    index, count = 0, len(keys)
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for _ in range(1000):
            key = keys[index % count]
            index += 1
            started = clock()
            read(key)
            samples.append(clock() - started)
    total_s = sum(samples) / 1e9
    samples.sort()
    return len(samples) / total_s, samples[int(len(samples) * 0.99)] / 1000


def _shm_reader(table: str, directory: str, keys: list[str], seconds: float, out: multiprocessing.Queue) -> None:
    cache = SharedMemoryCache(Path(table), Path(directory), writer=False)
    count = 0
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        for key in keys[:1000]:
            if cache.get(key) is None:
                raise BenchError(f"{key} is missing from the shared table")
        count += 1000
    out.put(count / (time.perf_counter() - started))
    cache.close()


def _rpc_connection(host: str, port: int, owner: str, deadline: float, counts: list[int]) -> None:
    """One keep-alive HTTP connection calling qenex_getBalances until `deadline`.

    Raw sockets and a pre-built request keep the client's own CPU small: on a 2-core machine the
    clients share the cores with the node and its workers.
    """
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "qenex_getBalances", "params": [owner]}).encode()
    request = (
        f"POST / HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    done = 0
    with socket.create_connection((host, port), timeout=30) as conn:
        reader = conn.makefile("rb")
        while time.perf_counter() < deadline:
            conn.sendall(request)
            length = 0
            while (line := reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            reply = reader.read(length)
            if b'"result"' not in reply:
                raise BenchError(f"qenex_getBalances failed: {reply[:200]!r}")
            done += 1
    counts.append(done)


def _rpc_client(url: str, owner: str, seconds: float, connections: int, out: multiprocessing.Queue) -> None:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    counts: list[int] = []
    started = time.perf_counter()
    threads = [
        threading.Thread(target=_rpc_connection, args=(host, int(port), owner, started + seconds, counts))
        for _ in range(connections)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.put(sum(counts) / (time.perf_counter() - started))


def measure_rpc(workers: int, seconds: float, clients: int) -> float:
    from genesis.builder import init_dev_home

    home = Path(tempfile.mkdtemp(prefix="qenex-cache-bench-"))
    try:
        listing = init_dev_home(home / "home", accounts=2)
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "node.cli",
                "node",
                "run",
                "--home",
                str(home / "home"),
                "--rpc-port",
                "0",
                "--rpc-workers",
                str(workers),
                "--log-level",
                "warning",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            # capacity, not the per-client limit: every bench client reads from 127.0.0.1
            env={**os.environ, "QENEX_RPC_RATE_PER_S": "0"},
        )
        try:
            line = process.stdout.readline() if process.stdout else ""
            if not line.startswith("JSON-RPC: "):
                raise BenchError(f"the bench node did not start (exit {process.poll()})")
            url = line.split(" ", 1)[1].strip()
            queue: multiprocessing.Queue = multiprocessing.get_context("spawn").Queue()
            context = multiprocessing.get_context("spawn")
            owner = listing[0]["address"]
            readers = [
                context.Process(target=_rpc_client, args=(url, owner, seconds, RPC_CONNECTIONS_PER_CLIENT, queue))
                for _ in range(clients)
            ]
            for reader in readers:
                reader.start()
            total = sum(queue.get(timeout=seconds + 60) for _ in readers)
            for reader in readers:
                reader.join()
            return total
        finally:
            process.terminate()
            process.wait(timeout=30)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def kernel_vm_figures() -> dict[str, float] | None:
    if not VM_LOG.exists():
        return None
    match = re.search(rb"BENCH kernel_get_reads_per_s=(\d+) kernel_mmap_reads_per_s=(\d+)", VM_LOG.read_bytes())
    if match is None:
        return None
    return {"ioctl_get_reads_per_s": float(match.group(1)), "c_mmap_reads_per_s": float(match.group(2))}


def run_bench(accounts: int = 10_000, seconds: float = 2.0, processes: int = 2, rpc: bool = True) -> CacheBenchResult:
    rng = random.Random(7)
    result = CacheBenchResult(accounts, seconds)
    work = Path(tempfile.mkdtemp(prefix="qenex-cache-bench-"))
    try:
        ledger_accounts = [_account(i, rng) for i in range(accounts)]
        truth = {a.id: Balance(a.balance_posted, a.balance_available) for a in ledger_accounts}
        keys = list(truth)
        rng.shuffle(keys)
        db = plyvel.DB(str(work / "leveldb"), create_if_missing=True)
        with db.write_batch() as batch:
            for account in ledger_accounts:
                batch.put(ACCOUNT + account.id.encode(), encode_account(account))

        def leveldb_read(key: str) -> Balance:
            account = decode_account(db.get(ACCOUNT + key.encode()))
            return Balance(account.balance_posted, account.balance_available)

        for key in keys[:100]:
            if leveldb_read(key) != truth[key]:
                raise BenchError(f"LevelDB returned a wrong balance for {key}")
        anchor, anchor_p99 = _measure(leveldb_read, keys, seconds)
        result.single.append(Figure("leveldb (anchor)", anchor, anchor_p99, 1.0))

        backends: list[BalanceCache] = [
            InProcessCache(),
            SharedMemoryCache(work / "bench.table", work / "slots", writer=True),
        ]
        if Path(DEVICE_PATH).exists():
            from kernel.device import KernelDeviceCache

            backends.append(KernelDeviceCache(work / "kslots", writer=True))
        else:
            result.notes.append(f"{DEVICE_PATH} absent: kernel figures come from the VM run (emulated CPU)")
        for cache in backends:
            cache.load(truth)
            if cache.snapshot() != truth:
                raise BenchError(f"the {cache.backend} cache does not hold what was loaded")
            rate, p99 = _measure(cache.get, keys, seconds)
            result.single.append(Figure(cache.backend, rate, p99, rate / anchor))

        context = multiprocessing.get_context("spawn")
        for count in (1, processes):
            queue: multiprocessing.Queue = context.Queue()
            readers = [
                context.Process(
                    target=_shm_reader, args=(str(work / "bench.table"), str(work / "slots"), keys, seconds, queue)
                )
                for _ in range(count)
            ]
            for reader in readers:
                reader.start()
            result.multi_process[f"shm_{count}_processes_reads_per_s"] = sum(
                queue.get(timeout=seconds + 60) for _ in readers
            )
            for reader in readers:
                reader.join()
        for cache in backends:
            cache.close()
        db.close()
        result.kernel_vm = kernel_vm_figures()
        if rpc:
            # interleaved rounds, best of each: other work on a shared machine only ever lowers a figure
            for _ in range(RPC_ROUNDS):
                for workers in (0, 1, 2):
                    name = f"rpc_workers_{workers}_reads_per_s"
                    rate = measure_rpc(workers, seconds, clients=RPC_CLIENTS)
                    result.rpc[name] = max(result.rpc.get(name, 0.0), rate)
        result.load_average = os.getloadavg()[0]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return result


def format_result(r: CacheBenchResult) -> str:
    lines = [f"balance reads, {r.accounts} accounts, {r.seconds:.1f} s per figure, one process:"]
    for figure in r.single:
        p99 = f"{figure.p99_us:8.2f} µs p99" if figure.p99_us is not None else ""
        lines.append(f"  {figure.name:<18} {figure.reads_per_s:>12,.0f} reads/s {p99}   x{figure.ratio_to_leveldb:.2f}")
    anchor = r.single[0].reads_per_s
    for name, rate in r.multi_process.items():
        lines.append(f"  {name:<34} {rate:>12,.0f} reads/s   x{rate / anchor:.2f} of one LevelDB reader")
    if r.kernel_vm:
        lines.append("kernel device, inside the VM (qemu software emulation; not comparable to the above):")
        for name, rate in r.kernel_vm.items():
            lines.append(f"  {name:<34} {rate:>12,.0f}")
    if r.rpc:
        base = r.rpc.get("rpc_workers_0_reads_per_s") or 1.0
        lines.append(
            f"JSON-RPC qenex_getBalances, {RPC_CLIENTS} client processes x {RPC_CONNECTIONS_PER_CLIENT} connections:"
        )
        for name, rate in r.rpc.items():
            lines.append(f"  {name:<34} {rate:>12,.0f} calls/s   x{rate / base:.2f} of the node alone")
    lines.append(f"load average (1 min) at the end: {r.load_average:.2f} on {os.cpu_count()} cores")
    lines.extend(f"note: {note}" for note in r.notes)
    return "\n".join(lines)


def run_cli(args: argparse.Namespace) -> int:
    try:
        result = run_bench(args.accounts, args.seconds, args.processes, rpc=not args.no_rpc)
    except BenchError as exc:
        print(f"error: bench failed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(asdict(result)) if args.json else format_result(result))
    return 0


def register(bench: argparse._SubParsersAction) -> None:
    p = bench.add_parser("cache", help="balance reads/s and p99 per cache backend vs LevelDB; RPC read scaling")
    p.add_argument("--accounts", type=int, default=10_000, help="accounts in the table (default 10000)")
    p.add_argument("--seconds", type=float, default=2.0, help="seconds per figure (default 2)")
    p.add_argument("--processes", type=int, default=2, help="reader processes for the multi-process figure")
    p.add_argument("--no-rpc", action="store_true", help="skip the --rpc-workers figures")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run_cli)
