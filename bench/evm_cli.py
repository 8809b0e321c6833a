"""`qenex bench evm` on the command line: its options here, the benchmark in bench/evm_bench.py.

Kept apart so that building the `qenex` parser does not import web3 and eth-account (about a
second on every command); they load when the benchmark runs."""

from __future__ import annotations

import argparse


def register(bench: argparse._SubParsersAction) -> None:
    """Add `qenex bench evm`."""
    p = bench.add_parser("evm", help="ERC-20 and value transfers/s through our node vs Anvil in the same run")
    p.add_argument("--transfers", type=int, default=2000, help="transactions per workload (default 2000)")
    p.add_argument("--senders", type=int, default=8, help="number of signing keys (default 8)")
    p.add_argument("--batch", type=int, default=100, help="transactions per JSON-RPC batch request (default 100)")
    p.add_argument("--block-interval-ms", type=int, default=200, help="block interval of our bench chain")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from bench.evm_bench import run_cli

    return run_cli(args)
