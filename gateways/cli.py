"""`qenex gateway submit|statement|convert|serve`: the gateway commands that talk to a node or write messages.

`node/cli.py` defines `validate` and `parse` and calls `add_commands` for the rest, so the gateway's
command line lives with the gateway. Imports of anything heavy happen inside the commands: `qenex
--help` must stay fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date
from pathlib import Path

from gateways.personal_data_cli import add_commands as add_pii_commands
from gateways.personal_data_cli import add_submit_options as add_pii_options
from node.rpc.client import DEFAULT_RPC_URL

ENV_PACS002_VERSION = "QENEX_PACS002_VERSION"


def _fail(message: str, code: int = 1) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def _read(path: str) -> bytes:
    from node.cli import _read_message_file

    return _read_message_file(path)


def _print_problems(problems: list) -> None:
    for problem in problems:
        print(problem.line(), file=sys.stderr)


def datetime_today() -> date:
    """Today in UTC, the ledger's clock."""
    from datetime import UTC, datetime

    return datetime.now(UTC).date()


def _pacs002_version(args: argparse.Namespace) -> str:
    from gateways.iso20022.status import DEFAULT_PACS002_VERSION, parse_version

    return parse_version(args.pacs002_version or os.environ.get(ENV_PACS002_VERSION) or DEFAULT_PACS002_VERSION)


def cmd_submit(args: argparse.Namespace) -> int:
    """Book every payment of a message file: one signed ledger transaction per payment.

    Re-delivery is idempotent: transfer ids come from the message's own identifiers (the UETR when
    there is one), so a payment the ledger already holds is reported as a duplicate and does not fail
    the command. With --status-report, a pacs.002 answering the message is written there.
    """
    from gateways.accounts import load_account_map
    from gateways.personal_data_cli import sealer_for
    from gateways.problems import MessageError
    from gateways.rpc import KeepAliveRpcClient
    from gateways.submit import GatewayError, Submitter, status_report
    from node.cli import load_private_key

    try:
        data = _read(args.file)
        account_map = load_account_map(Path(args.accounts_map)) if args.accounts_map else None
        version = _pacs002_version(args)
    except ValueError as error:
        return _fail(str(error), code=2)
    try:
        key = load_private_key(args.from_key, args.password_file)
        client = KeepAliveRpcClient(args.rpc)
        sealer = sealer_for(args)  # personal data sealed and handed to the node before anything is booked
    except ValueError as error:
        return _fail(str(error))
    submitter = Submitter(client, key, account_map, sealer)

    def show(outcome: object) -> None:
        print(json.dumps(outcome.line()), flush=True)  # type: ignore[attr-defined]
        if outcome.receipt is not None:  # type: ignore[attr-defined]
            print(json.dumps({"receipt": outcome.receipt}), flush=True)  # type: ignore[attr-defined]

    try:
        outcomes = submitter.submit(data, wait=args.wait, timeout=args.timeout, on_outcome=show)
        if submitter.sealed is not None:
            print(json.dumps({"personalData": submitter.sealed}), flush=True)
    except MessageError as error:
        _print_problems(error.problems)
        return 1
    except GatewayError as error:
        return _fail(str(error))
    if args.status_report:
        Path(args.status_report).write_bytes(status_report(data, outcomes, version))
    failed = [o for o in outcomes if not o.ok]
    for outcome in failed:
        detail = outcome.message if outcome.state == "conflict" else f"{outcome.rule}: {outcome.message}"
        print(f"error: {outcome.payment.path}: {outcome.state}: {detail}", file=sys.stderr)
    return 1 if failed else 0


def cmd_statement(args: argparse.Namespace) -> int:
    """An account's statement over a block range, built from the node's journal, on stdout."""
    from gateways.problems import MessageError
    from gateways.rpc import KeepAliveRpcClient
    from gateways.statements import (
        StatementError,
        blocks_for_dates,
        fetch_statement,
        statement_bics,
        to_camt053,
        to_mt,
    )

    try:
        client = KeepAliveRpcClient(args.rpc)
        days = [date.fromisoformat(d) if d else None for d in (args.from_date, args.to_date)]
    except ValueError as error:
        return _fail(str(error), code=2)
    if (days[0] or days[1]) and (args.from_block or args.to_block is not None):
        return _fail("give a period as --from/--to dates or as --from-block/--to-block, not both", code=2)
    try:
        first, last = args.from_block, args.to_block
        if days[0] or days[1]:
            today = datetime_today()
            first, last = blocks_for_dates(client, days[0] or date(1970, 1, 1), days[1] or today)
        statement = fetch_statement(client, args.account, first, last)
        if args.format in ("camt053", "camt.053"):
            output = to_camt053(statement)
        else:
            sender, receiver = statement_bics(args.account, args.bic, args.receiver_bic)
            output = to_mt(statement, args.format[2:], sender, receiver, args.sequence)
    except StatementError as error:
        return _fail(str(error))
    except MessageError as error:
        _print_problems(error.problems)
        return 1
    sys.stdout.buffer.write(output)
    sys.stdout.flush()
    return 0


def cmd_convert(args: argparse.Namespace) -> int:
    """MT103 <-> pacs.008.001.08 and MT940 <-> camt.053.001.08 (CBPR+ mapping); the result is validated first."""
    from gateways.convert import convert
    from gateways.problems import MessageError

    try:
        data = _read(args.file)
    except ValueError as error:
        return _fail(str(error), code=2)
    try:
        output = convert(data, args.to)
    except MessageError as error:
        _print_problems(error.problems)
        return 1
    sys.stdout.buffer.write(output)
    sys.stdout.flush()
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """The gateway's REST service until SIGINT/SIGTERM (see docs/gateways.md and GET /openapi.json)."""
    from gateways.accounts import load_account_map
    from gateways.personal_data_cli import sealer_for
    from gateways.service import ServiceConfig, run
    from node.cli import load_private_key

    try:
        account_map = load_account_map(Path(args.accounts_map)) if args.accounts_map else None
        version = _pacs002_version(args)
        key = load_private_key(args.from_key, args.password_file)
        sealer = sealer_for(args)
    except ValueError as error:
        return _fail(str(error), code=2)
    inbox = Path(args.inbox) if args.inbox else None
    config = ServiceConfig(args.rpc, key, account_map, version, args.host, args.port, args.max_body_bytes, inbox,
                           require_login=args.require_login, sealer=sealer)  # fmt: skip
    return run(config)


def _rpc(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rpc", default=DEFAULT_RPC_URL, help=f"node JSON-RPC URL (default {DEFAULT_RPC_URL})")


def _signer(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--from",
        "--keystore",
        dest="from_key",
        required=True,
        help="the gateway's key: keystore file or hex private key",
    )
    p.add_argument("--password-file", help="keystore password file (else prompted)")
    p.add_argument("--accounts-map", help="JSON object mapping IBANs/BICs/account numbers to ledger account ids")
    p.add_argument(
        "--pacs002-version",
        help=f"pacs.002 status report version: 10 or 12 (default ${ENV_PACS002_VERSION} or 10)",
    )


def add_commands(gateway: argparse._SubParsersAction) -> None:
    """Register submit, statement, convert and serve under `qenex gateway`."""
    p = gateway.add_parser("submit", help="book a message's payments: sign one ledger transaction per payment")
    p.add_argument("file")
    _rpc(p)
    _signer(p)
    p.add_argument("--wait", action="store_true", help="wait for the receipts and print them")
    p.add_argument("--wait-timeout", type=float, default=60.0, dest="timeout", help="seconds to wait (default 60)")
    p.add_argument("--status-report", metavar="FILE", help="write the pacs.002 status report answering the message")
    add_pii_options(p)  # --pii-vault/--pii-keys/--pii-banks: gateways/personal_data_cli.py
    p.set_defaults(func=cmd_submit)
    add_pii_commands(gateway)  # qenex gateway pii keygen|show|erase

    p = gateway.add_parser("statement", help="MT940/MT950/camt.053 statement of an account over a block range")
    _rpc(p)
    p.add_argument("--account", required=True, help="ledger account id (IBAN or GL id)")
    p.add_argument("--format", required=True, choices=["mt940", "mt950", "camt053", "camt.053"])
    p.add_argument("--from", dest="from_date", metavar="DATE", help="first day of the period (YYYY-MM-DD, UTC)")
    p.add_argument("--to", dest="to_date", metavar="DATE", help="last day of the period (default: today)")
    p.add_argument("--from-block", type=int, default=0, help="first block of the period (default 0, genesis)")
    p.add_argument("--to-block", type=int, default=None, help="last block of the period (default: the head)")
    p.add_argument("--bic", help="BIC of the statement's sender, MT block 1 (default: the bank of the account's IBAN)")
    p.add_argument("--receiver-bic", help="BIC of the statement's receiver, MT block 2 (default: the sender's)")
    p.add_argument("--sequence", type=int, default=1, help="statement number for :28C: (default 1)")
    p.set_defaults(func=cmd_statement)

    p = gateway.add_parser("convert", help="MT103 <-> pacs.008, MT940 <-> camt.053 (CBPR+ mapping); output validated")
    p.add_argument("file")
    p.add_argument("--to", required=True, choices=["pacs.008", "mt103", "camt.053", "mt940"])
    p.set_defaults(func=cmd_convert)

    p = gateway.add_parser("serve", help="REST service: POST a message to book it, GET statements (OpenAPI)")
    _rpc(p)
    _signer(p)
    p.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8650, help="port (default 8650; 0 picks a free one)")
    p.add_argument("--max-body-bytes", type=int, default=None, help="largest message accepted (default 4 MiB)")
    p.add_argument("--inbox", metavar="DIR", help="also book message files dropped in DIR (-> DIR/done, DIR/rejected)")
    p.add_argument("--require-login", action="store_true",
                   help="answer only operators with a session from the node (qenex operator login)")  # fmt: skip
    add_pii_options(p, vault=False)  # --pii-keys/--pii-banks: seal before booking (gateways/pii_delivery.py)
    p.set_defaults(func=cmd_serve)
