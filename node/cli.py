"""The `qenex` command line: keys, genesis, node, devnet, tx, account, ledger, bench."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
import time
from pathlib import Path

from genesis.consortium_cli import add_consortium_commands
from kernel.selector import CHOICES as CACHE_CHOICES
from node.cache_cli import register as register_cache_commands
from node.config_cli import add_config_command
from node.rpc.client import DEFAULT_RPC_URL
from node.screening.cli import add_screening_options
from node.screening.cli import register as register_fraud
from node.security_cli import register as register_security

DEFAULT_KEYSTORE = Path(os.environ.get("QENEX_KEYSTORE", Path.home() / ".qenex" / "keystore"))


def fail(message: str, code: int = 1) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


# --- keys ------------------------------------------------------------------------------------


def _password(args: argparse.Namespace, confirm: bool) -> str:
    if getattr(args, "password_file", None):
        return Path(args.password_file).read_text().rstrip("\n")
    password = getpass.getpass("keystore password: ")
    if confirm and getpass.getpass("repeat password: ") != password:
        raise ValueError("the passwords differ")
    return password


def cmd_keys_new(args: argparse.Namespace) -> int:
    from eth_account import Account

    directory = Path(args.keystore_dir)
    directory.mkdir(parents=True, exist_ok=True)
    account = Account.create()
    keystore = Account.encrypt(account.key, _password(args, confirm=True))
    path = directory / f"UTC--{time.strftime('%Y-%m-%dT%H-%M-%S')}Z--{account.address[2:].lower()}.json"
    from genesis.builder import write_private

    write_private(path, json.dumps(keystore))
    print(json.dumps({"address": account.address, "keystore": str(path)}))
    return 0


def cmd_keys_protect(args: argparse.Namespace) -> int:
    from node.key_store import KeyStoreError, protect_home
    from node.secret_files import InsecureSecretFileError, check_private

    try:
        check_private(Path(args.password_file))
        password = Path(args.password_file).read_bytes().rstrip(b"\r\n")
        written = protect_home(Path(args.home), password)
    except (KeyStoreError, InsecureSecretFileError, OSError, ValueError) as exc:
        return fail(str(exc))
    if not written:
        print(f"nothing to encrypt in {args.home} (no plaintext validator.key or p2p-key.pem)")
        return 0
    for path in written:
        print(f"encrypted {path}")
    print(f"start the node with {'QENEX_KEY_PASSWORD_FILE'}={Path(args.password_file).resolve()}")
    return 0


def cmd_keys_list(args: argparse.Namespace) -> int:
    directory = Path(args.keystore_dir)
    if not directory.is_dir():
        return fail(f"no keystore directory at {directory}; create a key with `qenex keys new`")
    for path in sorted(directory.glob("*.json")):
        try:
            address = json.loads(path.read_text()).get("address", "?")
        except ValueError:
            continue
        print(f"0x{address.removeprefix('0x')}  {path}")
    return 0


def load_private_key(spec: str, password_file: str | None = None) -> bytes:
    """KEY is a 0x hex private key or the path of an eth-account keystore file."""
    text = spec.strip()
    candidate = text.removeprefix("0x")
    if len(candidate) == 64 and all(c in "0123456789abcdefABCDEF" for c in candidate):
        return bytes.fromhex(candidate)
    path = Path(text)
    if not path.is_file():
        raise ValueError(f"--from {spec!r} is neither a 32-byte hex private key nor a keystore file")
    from eth_account import Account

    if password_file:
        password = Path(password_file).read_text().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {path.name}: ")
    try:
        return bytes(Account.decrypt(json.loads(path.read_text()), password))
    except ValueError as exc:
        raise ValueError(f"cannot decrypt {path}: {exc}") from None


# --- genesis and node ------------------------------------------------------------------------


def cmd_genesis_init(args: argparse.Namespace) -> int:
    from genesis.builder import init_dev_home

    if not args.dev:
        return fail(
            "only --dev genesis files are generated; write a consortium genesis by hand (docs/genesis.md) "
            "and check it with `qenex genesis validate FILE`"
        )
    try:
        listing = init_dev_home(Path(args.home), args.accounts, args.chain_id, args.force, args.block_interval_ms)
        if args.screening_model:
            from genesis.builder import enable_screening

            digest = enable_screening(Path(args.home), Path(args.screening_model), args.hold_expiry_seconds)
            print(f"fraud screening on: model {digest}, compliance key in {Path(args.home) / 'compliance.key'}")
    except (FileExistsError, FileNotFoundError) as exc:
        return fail(str(exc))
    print(f"wrote {Path(args.home) / 'genesis.json'} (chain id {args.chain_id}) and {len(listing)} dev keys:")
    print_dev_accounts(listing)
    return 0


def cmd_genesis_validate(args: argparse.Namespace) -> int:
    from genesis.schema import GenesisError, load_genesis

    try:
        genesis = load_genesis(Path(args.file))
    except GenesisError as exc:
        return fail(str(exc))
    print(
        f"ok: chain {genesis.chain_id}, {len(genesis.currencies)} currencies, {len(genesis.accounts)} accounts, "
        f"{len(genesis.validators)} validators, {len(genesis.roles)} role grants"
    )
    return 0


def print_dev_accounts(listing: list[dict]) -> None:
    from ledger.currency import format_amount

    for index, key in enumerate(listing):
        print(f"  ({index}) {key['address']}  private key {key['private_key']}")
        for account in key["accounts"]:
            print(f"        {account['id']:<34} {format_amount(account['balance'], 2):>16} {account['currency']}")
        if "native_wei" in key:
            print(f"        {'native coin (gas, 18 decimals)':<34} {format_amount(int(key['native_wei']), 18):>16}")
    if listing and "native_wei" in listing[0]:
        from contracts.bridge.addresses import token_address

        tokens = ", ".join(
            f"{c} 0x{token_address(c).hex()}" for c in sorted({a["currency"] for a in listing[0]["accounts"]})
        )
        print(f"  ERC-20 tokens of the ledger currencies (docs/evm.md): {tokens}")


def cmd_node_run(args: argparse.Namespace) -> int:
    from node.cache_cli import record_rpc_url
    from node.config import ConfigError, load_settings
    from node.log import setup_logging
    from node.p2p.network import NodeConfigError

    def ready(node: object, url: str) -> None:
        record_rpc_url(Path(args.home), url)
        print(f"JSON-RPC: {url}", flush=True)

    flags = {
        "rpc.host": args.rpc_host, "rpc.port": args.rpc_port, "log.level": args.log_level,
        "cache.backend": args.cache, "rpc.workers": args.rpc_workers,
    }  # fmt: skip
    try:
        settings = load_settings(Path(args.home), flags)  # node.toml < QENEX_* env < flags (docs/operations.md)
    except (ConfigError, NodeConfigError) as exc:
        return fail(str(exc))
    setup_logging(settings["log.level"], settings["log.modules"], settings["log.format"])
    return _run_node(settings.node_config(Path(args.home)), ready)


def _run_node(config: object, ready: object) -> int:
    from consensus.wal import WalCorruptError
    from genesis.schema import GenesisError
    from node.chain import DataDirLockedError
    from node.key_store import KeyStoreError
    from node.p2p.network import NodeConfigError
    from node.p2p.persist import ConsensusStateError
    from node.runner import serve

    refusals = (GenesisError, DataDirLockedError, NodeConfigError, ConsensusStateError, WalCorruptError, OSError,
                KeyStoreError)  # fmt: skip
    try:
        asyncio.run(serve(config, ready))
    except refusals as exc:
        return fail(str(exc))
    return 0


def cmd_devnet(args: argparse.Namespace) -> int:
    home = Path(args.home)
    if args.reset and home.exists():
        import shutil

        shutil.rmtree(home)
    if args.validators < 1 or args.full_nodes < 0:
        return fail("--validators must be at least 1 and --full-nodes at least 0")
    if args.validators > 1 or args.full_nodes:
        return _devnet_cluster(args, home)
    return _devnet_single(args, home)


def _devnet_cluster(args: argparse.Namespace, home: Path) -> int:
    """N validator processes (and K full nodes) on 127.0.0.1, supervised until Ctrl-C/SIGTERM."""
    import signal
    import threading

    from genesis.builder import DEV_ACCOUNTS_FILE
    from node.cluster import DEVNET_FILE, prepare, start_cluster, stop_cluster
    from node.devnet import traffic, watch_blocks

    try:
        nodes = prepare(home, args.validators, args.full_nodes, args.accounts, args.block_interval_ms,
                        args.rpc_port, args.p2p_port)  # fmt: skip
        if args.screening_model and not (Path(nodes[0]["home"]) / "data").exists():
            from genesis.builder import COMPLIANCE_KEY_FILE, enable_screening, write_private

            for node in nodes:  # the same genesis change in every home: they must stay identical
                enable_screening(Path(node["home"]), Path(args.screening_model), args.hold_expiry_seconds)
            key = (Path(nodes[0]["home"]) / COMPLIANCE_KEY_FILE).read_text()
            write_private(home / COMPLIANCE_KEY_FILE, key)  # where docs/screening.md's commands read it
        print(f"starting {len(nodes)} node processes in {home} ...", flush=True)
        cluster = start_cluster(home, nodes, args.log_level, on_started=lambda node, count: print(
            f"  [{count}/{len(nodes)}] {node.name} serving at {node.rpc_url}", flush=True))  # fmt: skip
    except (FileExistsError, ValueError, RuntimeError, OSError) as exc:
        return fail(str(exc))
    listing = json.loads((home / DEV_ACCOUNTS_FILE).read_text())
    print(f"\nQENEX devnet: {args.validators} validator(s), {args.full_nodes} full node(s), home {home}")
    for node in cluster:
        print(f"  {node.name:<12} {node.role:<9} JSON-RPC: {node.rpc_url}  P2P: {node.p2p}  pid {node.process.pid}")
    print(f"\nNodes are listed in {home / DEVNET_FILE}; restart one alone with `qenex node run --home <its home>`.")
    print("\nDev accounts (public keys: never use them on a real network):")
    print_dev_accounts(listing)
    print("\nCtrl-C stops the devnet; the chain stays in the home directory.\n", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    async def demo() -> None:
        url = cluster[0].rpc_url
        tasks = [asyncio.ensure_future(watch_blocks(url))]
        if not args.no_traffic:
            tasks.append(asyncio.ensure_future(traffic(url, listing, args.traffic_interval)))
        while not stop.is_set():
            await asyncio.sleep(0.2)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    try:
        asyncio.run(demo())
    finally:
        print("stopping the devnet ...", flush=True)
        stop_cluster(cluster)
    return 0


def _devnet_single(args: argparse.Namespace, home: Path) -> int:
    from genesis.builder import DEV_ACCOUNTS_FILE, GENESIS_FILE, init_dev_home
    from node.devnet import traffic, watch_blocks
    from node.log import setup_logging
    from node.service import NodeConfig

    if not (home / GENESIS_FILE).exists():
        init_dev_home(home, args.accounts, block_interval_ms=args.block_interval_ms)
        if args.screening_model:
            from genesis.builder import enable_screening

            enable_screening(home, Path(args.screening_model), args.hold_expiry_seconds)
    setup_logging(args.log_level)
    listing = json.loads((home / DEV_ACCOUNTS_FILE).read_text())
    background: set[asyncio.Task] = set()  # keeps the demo tasks referenced while they run

    async def ready(node: object, url: str) -> None:
        print(f"\nQENEX devnet (chain id {node.genesis.chain_id}) at height {node.chain.height}, home {home}")
        print(f"JSON-RPC: {url}\n\nDev accounts (public keys: never use them on a real network):")
        print_dev_accounts(listing)
        print("\nCtrl-C stops the devnet; the chain stays in the home directory.\n", flush=True)
        loop = asyncio.get_running_loop()
        background.add(loop.create_task(watch_blocks(url)))
        if not args.no_traffic:
            background.add(loop.create_task(traffic(url, listing, args.traffic_interval)))

    port = 8545 if args.rpc_port is None else args.rpc_port
    return _run_node(NodeConfig(home, args.rpc_host, port), ready)


# --- transactions and queries ------------------------------------------------------------------


def cmd_tx_transfer(args: argparse.Namespace) -> int:
    from node.rpc.client import RpcCallError, RpcClient
    from node.wallet import build_transfer_tx, wait_for_receipt

    client = RpcClient(args.rpc)
    try:
        key = load_private_key(args.from_key, args.password_file)
        raw, summary = build_transfer_tx(client, key, args)
        tx_hash = client.call("eth_sendRawTransaction", "0x" + raw.hex())
    except (ValueError, ConnectionError, RpcCallError) as exc:
        return fail(str(exc))
    print(json.dumps({"transactionHash": tx_hash, **summary}))
    if not args.wait:
        return 0
    try:
        receipt = wait_for_receipt(client, tx_hash, args.timeout)
    except (TimeoutError, ConnectionError) as exc:
        return fail(str(exc))
    print(json.dumps(receipt, indent=2))
    if receipt["status"] != "0x1":
        return fail(f"transaction failed: {receipt['error']['rule']}: {receipt['error']['message']}")
    return 0


def cmd_account_show(args: argparse.Namespace) -> int:
    from node.rpc.client import RpcCallError, RpcClient

    client = RpcClient(args.rpc)
    try:
        if args.account.startswith("0x") and len(args.account) == 42:
            result = {"owner": args.account, "accounts": client.call("qenex_getBalances", args.account)}
        else:
            account = client.call("qenex_getAccount", args.account)
            if account is None:
                return fail(f"account {args.account} does not exist on this chain")
            journal = client.call("qenex_getJournal", account["id"], {"limit": args.journal}) if args.journal else None
            result = {"account": account, "journal": journal}
    except (ConnectionError, RpcCallError) as exc:
        return fail(str(exc))
    print(json.dumps(result, indent=2))
    return 0


def cmd_ledger_verify(args: argparse.Namespace) -> int:
    from genesis.builder import GENESIS_FILE
    from genesis.schema import GenesisError, load_genesis
    from node.chain import Chain, DataDirLockedError
    from node.execution import InvalidBlockError
    from node.verify import verify_chain

    home = Path(args.home)
    try:
        genesis = load_genesis(home / GENESIS_FILE)
        chain = Chain(home / "data", genesis)
    except (GenesisError, DataDirLockedError, InvalidBlockError) as exc:
        return fail(str(exc))
    started = time.perf_counter()

    def progress(number: int, head: int) -> None:
        if number % 500 == 0 or number == head:
            print(f"  replayed block {number}/{head}", file=sys.stderr, flush=True)

    try:
        report = verify_chain(chain, progress)
    finally:
        chain.close()
    elapsed = time.perf_counter() - started
    for problem in report.problems:
        print(f"MISMATCH {problem}")
    verdict = "ok" if report.ok else "FAILED"
    print(
        f"ledger verify {verdict}: {report.blocks} blocks, {report.postings} postings, {report.accounts} accounts "
        f"replayed in {elapsed:.2f}s; every header's state root and every stored balance "
        f"{'match' if report.ok else 'checked'}"
    )
    return 0 if report.ok else 2


def cmd_bench_ledger(args: argparse.Namespace) -> int:
    from bench.ledger_bench import run_cli

    return run_cli(args)


# --- gateway ---------------------------------------------------------------------------------


def _read_message_file(path: str) -> bytes:
    file = Path(path)
    if file.is_dir():
        raise ValueError(f"{path}: is a directory, not a message file")
    if not file.is_file():
        raise ValueError(f"{path}: no such file")
    try:
        return file.read_bytes()
    except OSError as error:
        raise ValueError(f"{path}: cannot read: {error.strerror or error}") from error


def cmd_gateway_validate(args: argparse.Namespace) -> int:
    from gateways.messages import validate

    try:
        data = _read_message_file(args.file)
    except ValueError as error:
        return fail(str(error), code=2)
    problems = validate(data)
    if args.sepa:
        from gateways.sepa import sepa_problems

        try:
            inst_max = _euro_minor(args.sct_inst_max) if args.sct_inst_max is not None else None
        except ValueError as error:
            return fail(str(error), code=2)
        # Locating the Document can fail the same way in both passes; print each problem once.
        problems += [p for p in sepa_problems(data, inst_max) if p not in problems]
    for problem in problems:
        print(problem.line())
    if not problems:
        print(f"{args.file}: valid")
    return 1 if problems else 0


def _euro_minor(text: str) -> int:
    """'100000.00' -> 10000000 cents; refuses sub-cent, negative or non-numeric amounts rather than rounding."""
    from decimal import Decimal, InvalidOperation

    try:
        cents = Decimal(text).scaleb(2)
    except InvalidOperation:
        raise ValueError(f"--sct-inst-max: not a decimal amount: {text}") from None
    if not cents.is_finite() or cents < 0 or cents != cents.to_integral_value():
        raise ValueError(f"--sct-inst-max: not a euro amount with at most 2 decimals: {text}")
    return int(cents)


def cmd_gateway_parse(args: argparse.Namespace) -> int:
    from gateways.messages import parse
    from gateways.problems import MessageError

    try:
        data = _read_message_file(args.file)
    except ValueError as error:
        return fail(str(error), code=2)
    try:
        result = parse(data)
    except MessageError as error:
        for problem in error.problems:
            print(problem.line(), file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


# --- parser ----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qenex", description="QENEX permissioned-ledger node")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    keys = commands.add_parser("keys", help="create and list encrypted keystore files").add_subparsers(
        dest="subcommand", required=True, metavar="SUBCOMMAND"
    )
    p = keys.add_parser("new", help="create a key and save it as an encrypted keystore (eth-account format)")
    p.add_argument("--keystore-dir", default=str(DEFAULT_KEYSTORE), help="directory of keystore files")
    p.add_argument("--password-file", help="read the password from this file instead of prompting")
    p.set_defaults(func=cmd_keys_new)
    p = keys.add_parser("list", help="list the keystore files and their addresses")
    p.add_argument("--keystore-dir", default=str(DEFAULT_KEYSTORE), help="directory of keystore files")
    p.set_defaults(func=cmd_keys_list)
    p = keys.add_parser("protect", help="encrypt a node home's validator and TLS keys at rest (node/key_store.py)")
    p.add_argument("--home", required=True, help="node home directory")
    p.add_argument("--password-file", required=True, help="file holding the password (mode 0600); the node reads "
                   "it from QENEX_KEY_PASSWORD_FILE")  # fmt: skip
    p.set_defaults(func=cmd_keys_protect)

    genesis = commands.add_parser("genesis", help="create and check genesis files").add_subparsers(
        dest="subcommand", required=True, metavar="SUBCOMMAND"
    )
    p = genesis.add_parser("init", help="write a dev genesis, validator key and funded dev accounts into --home")
    p.add_argument("--home", required=True, help="node home directory")
    p.add_argument("--dev", action="store_true", help="one validator, funded dev accounts (keys are public)")
    p.add_argument("--accounts", type=int, default=5, help="number of funded dev keys (default 5)")
    p.add_argument("--chain-id", type=int, default=1337, help="chain id (default 1337)")
    p.add_argument("--block-interval-ms", type=int, default=1000, help="block interval (default 1000)")
    p.add_argument("--force", action="store_true", help="overwrite an existing genesis")
    add_screening_options(p)
    p.set_defaults(func=cmd_genesis_init)
    add_consortium_commands(genesis)
    p = genesis.add_parser("validate", help="check a genesis file and say what is wrong")
    p.add_argument("file")
    p.set_defaults(func=cmd_genesis_validate)

    node = commands.add_parser("node", help="run a node").add_subparsers(
        dest="subcommand", required=True, metavar="SUBCOMMAND"
    )
    p = node.add_parser("run", help="run the validator node of --home until SIGINT/SIGTERM")
    p.add_argument("--home", required=True, help="node home directory (genesis.json, validator.key, data/)")
    p.add_argument("--rpc-host", default=None, help="JSON-RPC listen address (default: node.json's, else 127.0.0.1)")
    p.add_argument(
        "--rpc-port", type=int, default=None, help="JSON-RPC port (default: node.json's, else 8545; 0 picks a free one)"
    )
    p.add_argument("--log-level", default=None, choices=["debug", "info", "warning", "error"],
                   help="level of every module (default: node.toml's [log] level, else info)")  # fmt: skip
    p.add_argument("--cache", default=None, choices=CACHE_CHOICES, help="balance-cache backend (default: auto)")
    p.add_argument("--rpc-workers", type=int, default=None, help="read-only JSON-RPC worker processes (default: 0)")
    p.set_defaults(func=cmd_node_run)
    add_config_command(node)

    p = commands.add_parser("devnet", help="run a local dev chain with funded accounts and demo payments")
    p.add_argument("--home", default=".devnet", help="devnet home (default ./.devnet; created if missing)")
    p.add_argument("--validators", type=int, default=4, help="validator processes (default 4; 1 runs in-process)")
    p.add_argument("--full-nodes", type=int, default=0, help="non-validator nodes that follow the chain")
    p.add_argument("--p2p-port", type=int, default=26656, help="first P2P port (one per node; 0 picks free ports)")
    p.add_argument("--reset", action="store_true", help="start from a fresh genesis")
    p.add_argument("--accounts", type=int, default=5, help="number of funded dev keys for a new devnet")
    p.add_argument("--block-interval-ms", type=int, default=1000, help="block interval for a new devnet")
    p.add_argument("--rpc-host", default="127.0.0.1")
    p.add_argument("--rpc-port", type=int, default=8545, help="first JSON-RPC port (one per node; 0 picks free ports)")
    p.add_argument("--no-traffic", action="store_true", help="do not send demo payments between dev accounts")
    p.add_argument("--traffic-interval", type=float, default=2.0, help="seconds between demo payments")
    add_screening_options(p)
    p.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    p.set_defaults(func=cmd_devnet)

    tx = commands.add_parser("tx", help="sign and send transactions").add_subparsers(
        dest="subcommand", required=True, metavar="SUBCOMMAND"
    )
    p = tx.add_parser("transfer", help="sign a ledger transfer locally and send it")
    p.add_argument("--rpc", default=DEFAULT_RPC_URL, help=f"node JSON-RPC URL (default {DEFAULT_RPC_URL})")
    p.add_argument("--from", dest="from_key", required=True, help="hex private key or keystore file")
    p.add_argument("--password-file", help="keystore password file (else prompted)")
    p.add_argument("--debit", help="account to debit (IBAN or GL id); for post/void: optional")
    p.add_argument("--credit", help="account to credit; for post/void: optional")
    p.add_argument("--amount", help="decimal amount, e.g. 12.34 (post: optional, default the full amount)")
    p.add_argument("--currency", help="ISO 4217 code, e.g. EUR")
    p.add_argument("--code", type=int, default=1, help="transfer code (u16, your chart of transfer kinds)")
    p.add_argument("--id", help="transfer id (0x hex or decimal, u128); default random")
    p.add_argument("--pending", action="store_true", help="two-phase: reserve the funds now")
    p.add_argument(
        "--timeout",
        type=int,
        default=0,
        dest="pending_timeout",
        help="with --pending: seconds until the reservation expires (0: never)",
    )
    p.add_argument("--post-pending", metavar="ID", help="post (finish) the pending transfer ID")
    p.add_argument("--void-pending", metavar="ID", help="void (cancel) the pending transfer ID")
    p.add_argument("--end-to-end-id", default="", help="ISO 20022 end-to-end id to record")
    p.add_argument("--uetr", default="", help="SWIFT gpi UETR (a UUID) to record")
    p.add_argument("--wait", action="store_true", help="wait for the receipt and print it")
    p.add_argument("--wait-timeout", type=float, default=60.0, dest="timeout", help="seconds to wait (default 60)")
    p.set_defaults(func=cmd_tx_transfer)

    account = commands.add_parser("account", help="look up ledger accounts").add_subparsers(
        dest="subcommand", required=True, metavar="SUBCOMMAND"
    )
    p = account.add_parser("show", help="show an account (by id/IBAN) or all accounts of an owner address")
    p.add_argument("account", help="account id / IBAN, or a 0x owner address")
    p.add_argument("--rpc", default=DEFAULT_RPC_URL, help=f"node JSON-RPC URL (default {DEFAULT_RPC_URL})")
    p.add_argument("--journal", type=int, default=10, help="latest journal entries to show (default 10, 0: none)")
    p.set_defaults(func=cmd_account_show)
    from node.admin_cli import register as register_admin  # governance; account freeze|unfreeze|close|limits

    register_admin(commands, account, DEFAULT_RPC_URL, load_private_key, fail)

    ledger = commands.add_parser("ledger", help="offline ledger tools").add_subparsers(
        dest="subcommand", required=True, metavar="SUBCOMMAND"
    )
    p = ledger.add_parser("verify", help="replay the journal from genesis and check every root and balance")
    p.add_argument("--home", required=True, help="node home directory (stop the node first)")
    p.set_defaults(func=cmd_ledger_verify)

    from node.validator_cli import register as register_validator
    from node.validator_cli import run as run_validator

    register_validator(commands, DEFAULT_RPC_URL, lambda args: run_validator(args, load_private_key, fail))

    bench = commands.add_parser("bench", help="benchmarks").add_subparsers(
        dest="subcommand", required=True, metavar="SUBCOMMAND"
    )
    p = bench.add_parser("ledger", help="committed transfers/s through RPC vs raw secp256k1 recoveries/s")
    p.add_argument("--transfers", type=int, default=20_000, help="number of pre-signed transfers (default 20000)")
    p.add_argument("--senders", type=int, default=8, help="number of signing keys (default 8)")
    p.add_argument("--batch", type=int, default=250, help="transactions per JSON-RPC batch request (default 250)")
    p.add_argument("--block-interval-ms", type=int, default=500, help="block interval of the bench chain")
    p.add_argument("--validators", type=int, default=1, help="validator processes (default 1; e.g. 4 for BFT)")
    p.add_argument("--rate", type=float, help="open loop: offer this many tx/s on a schedule (default: all at once)")
    p.add_argument("--tick-ms", type=int, default=50, help="open loop: release a batch every this many ms (default 50)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_bench_ledger)
    from bench.evm_cli import register as register_evm_bench

    register_evm_bench(bench)
    from bench.gateway_cli import add_command as add_gateway_bench

    add_gateway_bench(bench)  # qenex bench gateway: bench/gateway_cli.py
    from bench.cache_bench import register as register_cache_bench

    register_cache_bench(bench)

    gateway = commands.add_parser("gateway", help="check and read SWIFT MT / ISO 20022 messages").add_subparsers(
        dest="subcommand", required=True, metavar="SUBCOMMAND"
    )
    p = gateway.add_parser("validate", help="check a message file; one line per problem, exit 1 if invalid")
    p.add_argument("file")
    p.add_argument("--sepa", action="store_true", help="also apply the EPC SEPA rulebook (pain.001 / pacs.008)")
    p.add_argument("--sct-inst-max", metavar="AMOUNT", help="SCT Inst maximum in EUR for --sepa (default 100000.00)")
    p.set_defaults(func=cmd_gateway_validate)
    p = gateway.add_parser("parse", help="print a message file as canonical JSON")
    p.add_argument("file")
    p.set_defaults(func=cmd_gateway_parse)
    from gateways.cli import add_commands as add_gateway_commands

    add_gateway_commands(gateway)  # submit, statement, convert, serve: gateways/cli.py

    from contracts.cli import register as register_contracts

    register_contracts(commands)
    register_cache_commands(commands)
    register_fraud(commands)
    register_security(commands)  # rpc, operator, audit: node/security_cli.py
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
