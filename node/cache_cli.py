"""`qenex cache verify|status` and `qenex doctor`: the balance cache and the platform on the CLI.

node/cli.py registers these with one call (`register`), so this module owns its commands.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from kernel.selector import CHOICES, CachePaths

RPC_URL_FILE = "rpc.url"  # under <home>/cache/: where a running node says its JSON-RPC URL is


def record_rpc_url(home: Path, url: str) -> None:
    """Called when the node listens, so `qenex cache verify --home` can find it."""
    path = CachePaths.of(home).choice.parent / RPC_URL_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(url + "\n")


def _print_report(report: dict, as_json: bool) -> int:
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        for mismatch in report["details"]:
            print(f"MISMATCH {mismatch['account']}: cache {mismatch['cached']} ledger {mismatch['ledger']}")
        verdict = "ok" if not report["mismatches"] else ("repaired" if report["repaired"] else "FAILED")
        print(f"cache verify {verdict}: {report['checked']} accounts checked, {report['mismatches']} mismatches")
    return 0 if not report["mismatches"] or report["repaired"] else 2


def cmd_cache_verify(args: argparse.Namespace) -> int:
    """Compare the cache with the ledger and repair it: through the running node, or offline."""
    from genesis.builder import GENESIS_FILE
    from genesis.schema import GenesisError, load_genesis
    from kernel.cache import BalanceCacheError
    from node.balance_cache import LedgerBalanceCache
    from node.chain import Chain, DataDirLockedError
    from node.execution import InvalidBlockError
    from node.rpc.auth import home_credentials
    from node.rpc.client import RpcCallError, RpcClient

    home = Path(args.home)
    try:
        genesis = load_genesis(home / GENESIS_FILE)
        chain = Chain(home / "data", genesis)
    except DataDirLockedError:
        # The node is running: it alone may read the ledger, so it verifies and repairs.
        url_file = CachePaths.of(home).choice.parent / RPC_URL_FILE
        url = args.rpc or (url_file.read_text().strip() if url_file.exists() else None)
        if url is None:
            print(f"error: the node of {home} is running but {url_file} is missing; pass --rpc URL", file=sys.stderr)
            return 1
        try:
            report = RpcClient(url, headers=home_credentials(home)).call("qenex_cacheVerify")  # authenticated
        except (RpcCallError, OSError) as exc:
            print(f"error: qenex_cacheVerify at {url}: {exc}", file=sys.stderr)
            return 1
        return _print_report(report, args.json)
    except (GenesisError, InvalidBlockError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        from kernel.selector import open_writer, recorded_backend

        preference = args.cache if args.cache != "auto" else (recorded_backend(home) or "auto")
        if preference == "memory":
            raise BalanceCacheError("the node's cache lives inside the node process: start the node to verify it")
        cache, choice = open_writer(home, preference)
        node_cache = LedgerBalanceCache(cache, choice, chain.ledger)
        node_cache.synced_height = chain.height
        report = node_cache.verify(repair=True).as_json()
        node_cache.close()
    except BalanceCacheError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        chain.close()
    return _print_report(report, args.json)


def cmd_doctor(args: argparse.Namespace) -> int:
    from node.platform import probe, render

    report = probe(Path(args.home) if args.home else None, args.cache)
    print(json.dumps(report.as_json(), indent=2) if args.json else render(report))
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    cache = commands.add_parser("cache", help="the shared balance cache").add_subparsers(
        dest="subcommand", required=True, metavar="SUBCOMMAND"
    )
    p = cache.add_parser("verify", help="compare the balance cache with the ledger; log, count and repair mismatches")
    p.add_argument("--home", required=True, help="node home directory (running node: asked over JSON-RPC)")
    p.add_argument("--rpc", help="JSON-RPC URL of the running node (default: the one it recorded in --home)")
    p.add_argument("--cache", default="auto", choices=CHOICES, help="backend when the node is stopped (default auto)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_cache_verify)

    p = commands.add_parser("doctor", help="what this machine offers a node: cores, memory, VM, kernel device, TPM")
    p.add_argument("--home", help="node home (for the cache backend a node there would use)")
    p.add_argument("--cache", default="auto", choices=CHOICES, help="backend preference to explain (default auto)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_doctor)
