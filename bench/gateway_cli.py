"""The `qenex bench gateway` command line, apart from the benchmark so `qenex --help` stays fast."""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_SAMPLES = Path(__file__).resolve().parent.parent.parent / "shared" / "samples"


def _run(args: argparse.Namespace) -> int:
    from bench.gateway_bench import run_cli

    return run_cli(args)


def add_command(bench: argparse._SubParsersAction) -> None:
    """Register `qenex bench gateway` under `qenex bench` (called from node/cli.py)."""
    p = bench.add_parser("gateway", help="messages validated+parsed+signed/s and booked/s vs secp256k1 recoveries/s")
    p.add_argument("--messages", type=int, default=2000, help="messages per format for the pipeline figure")
    p.add_argument("--booked", type=int, default=400, help="messages booked through a node (default 400)")
    p.add_argument("--samples", default=str(DEFAULT_SAMPLES), help="the shared samples directory (../shared/samples)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=_run)
