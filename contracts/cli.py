"""`qenex contracts compile | deploy`: the command-line face of contracts.compiler and contracts.deploy."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from node.rpc.client import DEFAULT_RPC_URL


def cmd_compile(args: argparse.Namespace) -> int:
    from contracts.compiler import ARTIFACTS_DIR, CompileError, compile_all

    try:
        written = compile_all(Path(args.out) if args.out else ARTIFACTS_DIR)
    except CompileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"artifacts": [str(path) for path in written]}, indent=2))
    return 0


def cmd_deploy(args: argparse.Namespace) -> int:
    from contracts.deploy import DeployError, deploy
    from node.cli import load_private_key

    try:
        key = load_private_key(args.keystore, args.password_file)
        result = deploy(args.rpc, key, args.contract, args.args, Path(args.out), args.timeout)
    except (DeployError, ValueError, FileNotFoundError, ConnectionError, TimeoutError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add the `contracts` command group to the qenex CLI."""
    group = commands.add_parser("contracts", help="compile and deploy the Solidity contracts").add_subparsers(
        dest="subcommand", required=True, metavar="SUBCOMMAND"
    )
    p = group.add_parser("compile", help="compile contracts/solidity/*.sol (solc, or npm solc-js) into artifacts")
    p.add_argument("--out", help="artifacts directory (default contracts/artifacts)")
    p.set_defaults(func=cmd_compile)
    p = group.add_parser("deploy", help="deploy a compiled contract to any EVM JSON-RPC endpoint; prints its address")
    p.add_argument("--rpc", default=DEFAULT_RPC_URL, help=f"JSON-RPC URL (default {DEFAULT_RPC_URL})")
    p.add_argument("--keystore", required=True, help="eth-account keystore file (or a 0x hex private key)")
    p.add_argument("--password-file", help="keystore password file (else prompted)")
    p.add_argument("--contract", required=True, help="artifact name, e.g. Escrow, Loan, MultiSig")
    p.add_argument("--args", nargs="*", default=[], help="constructor arguments in order (lists as JSON)")
    p.add_argument("--out", default=".", help="directory for the NAME-ADDRESS.verify.json file (default .)")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the receipt (default 120)")
    p.set_defaults(func=cmd_deploy)
