"""`qenex bench gateway`: payment messages validated, parsed and booked per second.

Two figures, each next to the same anchor (raw secp256k1 public-key recoveries per second on one
thread, measured in the same run, as `qenex bench ledger` does), so runs on different or busy
machines compare by ratio:

  1. pipeline, one core, in process: per message, everything the gateway does before the network:
     validate (XSD for pacs.008, network rules for MT103), parse, resolve accounts, derive the
     transfer id, build and sign the ledger transaction. Measured separately for pacs.008 and MT103
     over N distinct messages each (real samples from ../shared/samples with fresh UETRs and small
     amounts); messages/s and per-message latency p50/p99.
  2. booked, end to end: a fresh dev node (`qenex node run` subprocess), the gateway's `Submitter`
     sending M messages (pacs.008 and MT103 alternating) through JSON-RPC, as `qenex gateway submit`
     does; messages/s from the first submission to the last receipt observed. The run then checks
     every receipt is status 0x1, the two accounts moved by exactly the sum of the messages, and a
     re-submission of some of them is reported as duplicates without moving money. Anything else
     fails the run (BenchError).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.ledger_bench import BenchError, NodeProcess, machine_info, measure_recoveries
from genesis.builder import DEV_CHAIN_ID, init_dev_home

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SAMPLES = REPO.parent / "shared" / "samples"  # ../shared/samples
PACS008 = "iso20022/pacs.008.001.08__mt2mx-expected__p_2_3_1_a_mt103_pacs_008_A_D.xml"
MT103 = "mt/mt103__mt2mx-input__finMessage_p_2_3_1_a_A_D.fin"
SAMPLE_UETR = b"7a562c67-ca16-48ba-b074-65581be6f001"
DEBTOR, CREDITOR = "25698745", "65479512"  # the samples' account numbers, mapped to dev accounts
RECEIPT_TIMEOUT_S = 120.0
DUPLICATE_CHECKS = 10


@dataclass
class PipelineFigures:
    kind: str
    messages: int
    per_s: float
    p50_ms: float
    p99_ms: float


@dataclass
class GatewayBenchResult:
    pipeline: list[PipelineFigures]
    booked_messages: int
    booked_per_s: float
    booked_duration_s: float
    recoveries_per_s: float
    ratios: dict[str, float]  # figure / recoveries_per_s
    checks: dict[str, int]
    machine: dict = field(default_factory=dict)


def _variants(samples: Path, count: int, seed: int | None) -> dict[str, list[bytes]]:
    """`count` distinct pacs.008 and MT103 messages: fresh UETRs (so distinct transfer ids), 0.01-9.99 EUR."""
    try:
        pacs, mt = (samples / PACS008).read_bytes(), (samples / MT103).read_bytes()
    except OSError as error:
        raise BenchError(f"sample messages not found under {samples} ({error}); pass --samples DIR") from None
    rng = random.Random(seed)
    out: dict[str, list[bytes]] = {"pacs.008": [], "mt103": []}
    for _ in range(count):
        uetr = str(uuid.UUID(int=rng.getrandbits(128), version=4)).encode()
        cents = rng.randint(1, 999)
        iso, swift = f"{cents // 100}.{cents % 100:02d}".encode(), f"{cents // 100},{cents % 100:02d}".encode()
        out["pacs.008"].append(pacs.replace(SAMPLE_UETR, uetr).replace(b">65784.32<", b">" + iso + b"<"))
        out["mt103"].append(mt.replace(SAMPLE_UETR, uetr).replace(b"EUR65784,32", b"EUR" + swift))
    return out


def _percentile(ordered: list[float], percent: float) -> float:
    rank = max(1, -(-len(ordered) * percent // 100))
    return ordered[int(rank) - 1]


def measure_pipeline(kind: str, messages: list[bytes], account_map: dict[str, str], key: bytes) -> PipelineFigures:
    """Validate + parse + resolve + sign each message, one thread; the same work `gateway submit` does offline."""
    from gateways.booking import transactions_from_message
    from ledger.tx import LedgerTransaction

    transactions_from_message(messages[0], account_map)  # warm up: compiles and caches the XSD
    latencies: list[float] = []
    started = time.perf_counter()
    for nonce, data in enumerate(messages):
        begin = time.perf_counter()
        [payment] = transactions_from_message(data, account_map)
        raw = LedgerTransaction(DEV_CHAIN_ID, nonce, (payment.transfer(),), payment.references()).sign(key).encode()
        latencies.append((time.perf_counter() - begin) * 1000)
        assert raw
    elapsed = time.perf_counter() - started
    latencies.sort()
    return PipelineFigures(
        kind, len(messages), round(len(messages) / elapsed, 1), round(_percentile(latencies, 50), 3),
        round(_percentile(latencies, 99), 3),
    )  # fmt: skip


def _wait_receipts(client: object, hashes: list[str]) -> list[dict]:
    deadline = time.monotonic() + RECEIPT_TIMEOUT_S
    receipts: list[dict] = []
    for tx_hash in reversed(hashes):  # the last one is booked last: after it, the rest are there
        while (receipt := client.call("eth_getTransactionReceipt", tx_hash)) is None:  # type: ignore[attr-defined]
            if time.monotonic() > deadline:
                raise BenchError(f"no receipt for {tx_hash} after {RECEIPT_TIMEOUT_S:.0f}s")
            time.sleep(0.01)
        receipts.append(receipt)
    return receipts


def measure_booked(messages: list[bytes], listing: list[dict], home: Path) -> tuple[float, float, dict[str, int]]:
    """(messages/s, seconds, checks) for submitting `messages` through a fresh node's RPC."""
    from gateways.rpc import KeepAliveRpcClient
    from gateways.submit import Submitter

    debit, credit = listing[1]["accounts"][0]["id"], listing[2]["accounts"][0]["id"]
    node = NodeProcess(home)
    try:
        client = KeepAliveRpcClient(node.wait_for_url())
        submitter = Submitter(client, bytes.fromhex(listing[0]["private_key"][2:]), {DEBTOR: debit, CREDITOR: credit})
        before = [int(client.call("qenex_getAccount", a)["balance"]) for a in (debit, credit)]
        started = time.perf_counter()
        outcomes = [o for data in messages for o in submitter.submit(data)]
        receipts = _wait_receipts(client, [o.transaction_hash for o in outcomes if o.transaction_hash])
        elapsed = time.perf_counter() - started
        if [o.state for o in outcomes] != ["sent"] * len(messages):
            raise BenchError(f"not every message was sent: {sorted({o.state for o in outcomes})}")
        if any(r.get("status") != "0x1" for r in receipts):
            raise BenchError("a receipt has a status other than 0x1")
        total = sum(o.payment.amount for o in outcomes)
        after = [int(client.call("qenex_getAccount", a)["balance"]) for a in (debit, credit)]
        if (before[0] - after[0], after[1] - before[1]) != (total, total):
            raise BenchError(f"balances moved by {before[0] - after[0]} / {after[1] - before[1]}, expected {total}")
        again = [o.state for data in messages[:DUPLICATE_CHECKS] for o in submitter.submit(data)]
        if set(again) != {"duplicate"}:
            raise BenchError(f"re-submitted messages were not all duplicates: {again}")
        if [int(client.call("qenex_getAccount", a)["balance"]) for a in (debit, credit)] != after:
            raise BenchError("re-submission moved money")
    finally:
        node.stop()
    checks = {"receipts_status_1": len(receipts), "balances_reconciled": 2, "duplicates_refused": len(again)}
    return len(messages) / elapsed, elapsed, checks


def run_bench(
    messages: int = 2000, booked: int = 400, samples: Path = DEFAULT_SAMPLES, seed: int | None = None
) -> GatewayBenchResult:
    if messages < 1 or booked < 1:
        raise BenchError("--messages and --booked must be at least 1")
    variants = _variants(samples, max(messages, booked), seed)
    home = Path(tempfile.mkdtemp(prefix="qenex-gwbench-"))
    try:
        listing = init_dev_home(home, 3, DEV_CHAIN_ID, block_interval_ms=200)
        account_map = {DEBTOR: listing[1]["accounts"][0]["id"], CREDITOR: listing[2]["accounts"][0]["id"]}
        key = bytes.fromhex(listing[0]["private_key"][2:])
        recoveries = measure_recoveries()
        pipeline = [
            measure_pipeline(kind, variants[kind][:messages], account_map, key) for kind in ("pacs.008", "mt103")
        ]
        mixed = [variants["pacs.008" if i % 2 == 0 else "mt103"][i] for i in range(booked)]
        booked_per_s, duration, checks = measure_booked(mixed, listing, home)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    ratios = {f"pipeline {p.kind}": round(p.per_s / recoveries, 4) for p in pipeline}
    ratios["booked"] = round(booked_per_s / recoveries, 4)
    return GatewayBenchResult(
        pipeline, booked, round(booked_per_s, 1), round(duration, 3), round(recoveries, 1), ratios, checks,
        machine_info(),
    )  # fmt: skip


def format_result(r: GatewayBenchResult) -> str:
    lines = ["qenex bench gateway"]
    for p in r.pipeline:
        lines.append(
            f"  pipeline {p.kind:<8} {p.per_s:>8,.0f} messages/s on one core (validate+parse+sign), "
            f"p50 {p.p50_ms:.2f} ms, p99 {p.p99_ms:.2f} ms over {p.messages}"
        )
    lines += [
        f"  booked            {r.booked_per_s:>8,.0f} messages/s end to end through a node's RPC "
        f"({r.booked_messages} in {r.booked_duration_s:.2f}s, one submitter)",
        f"  anchor            {r.recoveries_per_s:>8,.0f} secp256k1 recoveries/s (coincurve, 1 thread)",
        "  ratios            " + ", ".join(f"{k} {v:.4f}" for k, v in r.ratios.items()),
        "  checks            " + ", ".join(f"{k} {v}" for k, v in r.checks.items()),
        f"  machine           {r.machine.get('nproc')} CPUs ({r.machine.get('cpu', 'unknown')}), "
        f"{r.machine.get('implementation')} {r.machine.get('python')}",
    ]
    return "\n".join(lines)


def run_cli(args: argparse.Namespace) -> int:
    """Entry point of `qenex bench gateway` (the parser is in bench/gateway_cli.py)."""
    try:
        result = run_bench(args.messages, args.booked, Path(args.samples))
    except BenchError as error:
        print(f"error: bench failed: {error}", file=sys.stderr)
        return 1
    print(json.dumps(asdict(result)) if args.json else format_result(result))
    return 0
