"""`qenex genesis keygen` and `qenex genesis assemble`: the consortium steps of docs/operations.md."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def cmd_keygen(args: argparse.Namespace) -> int:
    from genesis.consortium import keygen  # late: the CLI starts fast

    try:
        entry = keygen(Path(args.home), args.name, args.chain_id, args.power)
    except (FileExistsError, ValueError) as exc:
        return _fail(str(exc))
    text = json.dumps(entry, indent=2) + "\n"
    if args.out:
        Path(args.out).write_text(text)
        print(f"keys written to {args.home} (keep them there); public entry for the genesis in {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def cmd_assemble(args: argparse.Namespace) -> int:
    from genesis.consortium import assemble, write_genesis
    from genesis.schema import GenesisError

    try:
        template = json.loads(Path(args.template).read_text())
        entries = [json.loads(Path(p).read_text()) for p in args.validator]
        data = assemble(template, entries)
    except FileNotFoundError as exc:
        return _fail(f"{exc.filename}: no such file")
    except json.JSONDecodeError as exc:
        return _fail(f"not JSON: {exc}")
    except GenesisError as exc:
        return _fail(str(exc))
    write_genesis(Path(args.out), data)
    print(f"ok: {args.out} with {len(entries)} validators; give every bank this exact file")
    return 0


def add_consortium_commands(genesis_commands: argparse._SubParsersAction) -> None:
    p = genesis_commands.add_parser(
        "keygen", help="make a bank's validator and TLS keys in --home; print the public entry"
    )
    p.add_argument("--home", required=True, help="the bank's node home (keys are written here, 0600)")
    p.add_argument("--name", required=True, help="the bank's validator name, e.g. bank-a")
    p.add_argument("--chain-id", type=int, required=True, help="the consortium's chain id (the TLS binding signs it)")
    p.add_argument("--power", type=int, default=1, help="voting power (default 1)")
    p.add_argument("--out", help="write the public entry to this file instead of stdout")
    p.set_defaults(func=cmd_keygen)
    p = genesis_commands.add_parser("assemble", help="genesis from a template and the banks' public entries")
    p.add_argument("--template", required=True, help="genesis JSON without validators (chain id, currencies, ...)")
    p.add_argument("--validator", action="append", required=True, help="a bank's entry file (repeat per bank)")
    p.add_argument("--out", required=True, help="genesis file to write")
    p.set_defaults(func=cmd_assemble)
