"""`qenex bench evm`: Ethereum transactions per second through our node, against Anvil in the same run.

Two workloads, each on both chains, same transactions shape, same client:
  erc20   ERC-20 `transfer` calls. On QENEX the token is the ledger's EUR token (each transfer
          is a real ledger posting through the bridge precompile); on Anvil a plain ERC-20
          (contracts' TestToken) minted to the senders first.
  value   plain native-coin transfers (21,000 gas).

For each: pre-sign N transactions round-robin over K funded keys (EIP-1559, explicit gas, so
no estimate is timed), send them as JSON-RPC batches of eth_sendRawTransaction (each sender's
nonces in order), wait until every sender's nonce reached its last, then check that every
receipt has status 1 and the recipients received what was sent. The figure is
N / (last inclusion observed - first batch sent). Anvil is the anchor: the ratio
QENEX / Anvil is what to compare across machines.

Both chains make a block every `--block-interval-ms` (Anvil: --block-time; its automine mode
stalls with a full pool). Our chain's block gas limit is 10^9 so gas never binds at this rate;
Anvil keeps its 30M (about 500 ERC-20 transfers per block).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from eth_account import Account
from web3 import Web3

from bench.anvil import DEFAULT_KEY, start_anvil
from contracts.bridge.addresses import token_address
from contracts.compiler import load_artifact

ERC20_GAS = 120_000
VALUE_GAS = 21_000
BENCH_GAS_LIMIT = 1_000_000_000


class BenchError(RuntimeError):
    """A run did not do what it should; the message says what."""


@dataclass
class Figure:
    chain: str
    workload: str
    transactions: int
    seconds: float
    per_second: float


def _rpc(url: str, payload: object, timeout: float = 120) -> object:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def _call(url: str, method: str, *params: object) -> object:
    reply = _rpc(url, {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})
    if "error" in reply:
        raise BenchError(f"{method}: {reply['error']}")
    return reply["result"]


def _presign(
    url: str,
    keys: list[Account],
    count: int,
    to_of: Callable[[int], str],
    data_of: Callable[[int], bytes],
    gas: int,
    value: int,
) -> list[tuple[str, str]]:
    chain_id = int(_call(url, "eth_chainId"), 16)
    base_fee = int(_call(url, "eth_getBlockByNumber", "latest", False).get("baseFeePerGas", "0x0"), 16)
    nonces = {k.address: int(_call(url, "eth_getTransactionCount", k.address, "pending"), 16) for k in keys}
    signed = []
    for i in range(count):
        key = keys[i % len(keys)]
        tx = {
            "chainId": chain_id, "nonce": nonces[key.address], "to": to_of(i), "value": value, "gas": gas,
            "maxFeePerGas": 2 * base_fee + 1, "maxPriorityFeePerGas": 1, "data": data_of(i),
        }  # fmt: skip
        nonces[key.address] += 1
        signed.append((key.address, "0x" + bytes(key.sign_transaction(tx).raw_transaction).hex()))
    return signed


def _send_and_wait(url: str, signed: list[tuple[str, str]], batch: int, timeout_s: float) -> float:
    last_nonce: dict[str, int] = {}
    for address, _ in signed:
        last_nonce[address] = last_nonce.get(address, 0) + 1
    start_nonce = {a: int(_call(url, "eth_getTransactionCount", a, "latest"), 16) for a in last_nonce}
    started = time.perf_counter()
    for first in range(0, len(signed), batch):
        chunk = signed[first : first + batch]
        payload = [
            {"jsonrpc": "2.0", "id": i, "method": "eth_sendRawTransaction", "params": [raw]}
            for i, (_, raw) in enumerate(chunk)
        ]
        for reply in _rpc(url, payload):
            if "error" in reply:
                raise BenchError(f"eth_sendRawTransaction refused: {reply['error']}")
    deadline = time.monotonic() + timeout_s
    pending = dict(last_nonce)
    while pending:
        if time.monotonic() > deadline:
            raise BenchError(f"{len(pending)} senders still have transactions waiting after {timeout_s:.0f} s")
        calls = [
            {"jsonrpc": "2.0", "id": i, "method": "eth_getTransactionCount", "params": [a, "latest"]}
            for i, a in enumerate(pending)
        ]
        replies = {r["id"]: int(r["result"], 16) for r in _rpc(url, calls)}
        for i, address in enumerate(list(pending)):
            if replies[i] >= start_nonce[address] + last_nonce[address]:
                del pending[address]
        if pending:
            time.sleep(0.01)
    return time.perf_counter() - started


def _check_receipts(url: str, signed: list[tuple[str, str]], sample: int = 50) -> None:
    step = max(1, len(signed) // sample)
    for _, raw in signed[::step]:
        receipt = _call(url, "eth_getTransactionReceipt", "0x" + Web3.keccak(hexstr=raw).hex().removeprefix("0x"))
        if receipt is None or receipt["status"] != "0x1":
            raise BenchError(f"transaction {raw[:20]}... has receipt {receipt}")


def run_workloads(url: str, name: str, keys: list[Account], token: str, count: int, batch: int) -> list[Figure]:
    w3 = Web3(Web3.HTTPProvider(url))
    erc20 = w3.eth.contract(address=token, abi=load_artifact("TestToken")["abi"])
    payees = [Account.create().address for _ in range(len(keys))]
    calls = [erc20.functions.transfer(payee, 1)._encode_transaction_data() for payee in payees]
    figures = []
    before = [erc20.functions.balanceOf(p).call() for p in payees]
    signed = _presign(url, keys, count, lambda i: token, lambda i: calls[i % len(calls)], ERC20_GAS, 0)
    seconds = _send_and_wait(url, signed, batch, timeout_s=600)
    _check_receipts(url, signed)
    after = [erc20.functions.balanceOf(p).call() for p in payees]
    if sum(after) - sum(before) != count:
        raise BenchError(f"{name}: payees received {sum(after) - sum(before)} token units, expected {count}")
    figures.append(Figure(name, "erc20", count, seconds, count / seconds))
    signed = _presign(url, keys, count, lambda i: payees[i % len(payees)], lambda i: b"", VALUE_GAS, 1)
    seconds = _send_and_wait(url, signed, batch, timeout_s=600)
    _check_receipts(url, signed)
    figures.append(Figure(name, "value", count, seconds, count / seconds))
    return figures


def run_bench(transfers: int, senders: int, batch: int, interval_ms: int) -> dict:
    from bench.ledger_bench import NodeProcess
    from genesis.builder import GENESIS_FILE, init_dev_home

    home = Path(tempfile.mkdtemp(prefix="qenex-evm-bench-"))
    node = anvil = None
    try:
        listing = init_dev_home(home, accounts=senders, block_interval_ms=interval_ms)
        genesis_path = home / GENESIS_FILE
        genesis = json.loads(genesis_path.read_text())
        genesis["block"]["gas_limit"] = BENCH_GAS_LIMIT
        genesis_path.write_text(json.dumps(genesis))
        node = NodeProcess(home)
        url = node.wait_for_url()
        keys = [Account.from_key(entry["private_key"]) for entry in listing]
        eur = Web3.to_checksum_address(token_address("EUR"))
        figures = run_workloads(url, "qenex", keys, eur, transfers, batch)
        node.stop()
        node = None

        anvil = start_anvil(block_time_s=interval_ms / 1000)
        w3 = Web3(Web3.HTTPProvider(anvil.url))
        deployer = Account.from_key(DEFAULT_KEY)
        token = _anvil_token(w3, deployer, keys)
        figures += run_workloads(anvil.url, "anvil", keys, token, transfers, batch)
    finally:
        if node is not None:
            node.stop()
        if anvil is not None:
            anvil.stop()
        shutil.rmtree(home, ignore_errors=True)
    by = {(f.chain, f.workload): f for f in figures}
    return {
        "figures": [asdict(f) for f in figures],
        "ratio_erc20": by["qenex", "erc20"].per_second / by["anvil", "erc20"].per_second,
        "ratio_value": by["qenex", "value"].per_second / by["anvil", "value"].per_second,
        "transfers": transfers,
        "senders": senders,
        "batch": batch,
        "block_interval_ms": interval_ms,
    }


def _anvil_token(w3: Web3, deployer: Account, keys: list[Account]) -> str:
    """Deploy TestToken on Anvil, mint to the bench keys and fund them with native coin."""
    artifact = load_artifact("TestToken")
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])

    def send(tx: dict) -> dict:
        tx = {"from": deployer.address, "nonce": w3.eth.get_transaction_count(deployer.address), **tx}
        tx_hash = w3.eth.send_raw_transaction(deployer.sign_transaction(tx).raw_transaction)
        return w3.eth.wait_for_transaction_receipt(tx_hash)

    receipt = send(factory.constructor("Euro", "EUR", 2).build_transaction({"from": deployer.address}))
    token = w3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])
    for key in keys:
        send(token.functions.mint(key.address, 10**12).build_transaction({"from": deployer.address}))
        send({"to": key.address, "value": 10**21, "gas": 21_000, "chainId": w3.eth.chain_id,
              "maxFeePerGas": w3.eth.gas_price * 2 + 1, "maxPriorityFeePerGas": 1})  # fmt: skip
    return receipt["contractAddress"]


def format_result(result: dict) -> str:
    lines = [f"{'chain':<8}{'workload':<10}{'txs':>8}{'seconds':>10}{'tx/s':>10}"]
    for f in result["figures"]:
        lines.append(
            f"{f['chain']:<8}{f['workload']:<10}{f['transactions']:>8}{f['seconds']:>10.2f}{f['per_second']:>10.1f}"
        )
    lines.append(
        f"ratio QENEX / Anvil: ERC-20 {result['ratio_erc20']:.3f}, value transfers {result['ratio_value']:.3f}"
    )
    return "\n".join(lines)


def run_cli(args: argparse.Namespace) -> int:
    try:
        result = run_bench(args.transfers, args.senders, args.batch, args.block_interval_ms)
    except (BenchError, OSError) as exc:
        print(f"error: bench failed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result) if args.json else format_result(result))
    return 0
