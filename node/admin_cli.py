"""`qenex governance ...` and `qenex account freeze|unfreeze|close|limits`: administrative chain actions.

Each action (node/admin.py) is signed locally with the holder's key and sent with
eth_sendRawTransaction like any transaction; the chain checks the signer against the permission
table (ledger/permissions.py) when it applies the action, and the receipt names any rule broken.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

from ledger.authz import ROLES, RoleGrant
from ledger.currency import format_amount, parse_amount
from ledger.errors import LedgerError
from ledger.params import PARAMS, ParamChange
from node.admin import AdminKind, ChangeKind, ModelChange, NodeChange, account_action, propose, vote
from node.rpc.client import RpcCallError, RpcClient
from node.validator_cli import send_action

DEFAULT_DEADLINE_BLOCKS = 1000
ACCOUNT_KINDS = {
    "freeze": AdminKind.ACCOUNT_FREEZE,
    "unfreeze": AdminKind.ACCOUNT_UNFREEZE,
    "close": AdminKind.ACCOUNT_CLOSE,
    "limits": AdminKind.ACCOUNT_LIMITS,
}

LoadKey = Callable[[str, str | None], bytes]
Fail = Callable[[str], int]


def _send(client: RpcClient, args: argparse.Namespace, load_key: LoadKey, action: object, fail: Fail) -> int:
    key = load_key(args.from_key, args.password_file)
    result = send_action(client, key, action, args.wait, args.wait_timeout)  # type: ignore[arg-type]
    print(json.dumps(result, indent=2))
    if args.wait and result.get("status") != "0x1":
        error = result.get("error") or {}
        return fail(f"refused: {error.get('rule', '?')}: {error.get('message', '')}")
    return 0


def run_governance(args: argparse.Namespace, load_key: LoadKey, fail: Fail) -> int:
    client = RpcClient(args.rpc)
    try:
        if args.subcommand == "list":
            print(json.dumps(client.call("qenex_getProposals", *([args.status] if args.status else [])), indent=2))
            return 0
        if args.subcommand == "show":
            found = client.call("qenex_getProposal", args.proposal)
            if found is None:
                return fail(f"no governance proposal {args.proposal}")
            print(json.dumps(found, indent=2))
            return 0
        if args.subcommand == "roles":
            print(json.dumps(client.call("qenex_getRoles"), indent=2))
            return 0
        if args.subcommand == "vote":
            return _send(client, args, load_key, vote(bytes.fromhex(args.proposal.removeprefix("0x"))), fail)
        if args.subcommand == "identity":
            print(json.dumps(node_identity(Path(args.home)), indent=2))
            return 0
        if args.register_node:
            entry = json.loads(Path(args.register_node).read_text())
            pem, binding = entry["p2p_certificate"].encode(), bytes.fromhex(entry["p2p_binding"].removeprefix("0x"))
            change, grant = ChangeKind.REGISTER_NODE, NodeChange(entry["address"].lower(), pem, binding)
        elif args.revoke_node:
            change, grant = ChangeKind.REVOKE_NODE, NodeChange(args.revoke_node.lower())
        elif args.screening_model:
            from node.screening.model import model_hash  # scikit-learn only for this command

            digest = bytes.fromhex(model_hash(Path(args.screening_model)))
            change, grant = ChangeKind.SET_SCREENING_MODEL, ModelChange(digest)
        elif args.param:
            name, _, value = args.param.partition("=")
            change, grant = ChangeKind.SET_PARAM, ParamChange(name, int(value))
        elif args.holder is None:
            return fail("--grant/--revoke need --holder ADDRESS")
        else:
            role = args.grant or args.revoke
            change = ChangeKind.GRANT_ROLE if args.grant else ChangeKind.REVOKE_ROLE
            grant = RoleGrant(role, args.holder, args.namespace)
        height = int(client.call("eth_blockNumber"), 16)
        deadline = args.deadline if args.deadline is not None else height + DEFAULT_DEADLINE_BLOCKS
        return _send(client, args, load_key, propose(change, grant, deadline), fail)
    except (ValueError, KeyError, OSError, LedgerError, ConnectionError, RpcCallError, TimeoutError) as exc:
        return fail(str(exc))


def node_identity(home: Path) -> dict:
    """This node's P2P identity for a --register-node proposal, made once: a TLS key and certificate
    (p2p-key.pem, p2p-cert.pem in HOME) bound to the node key (validator.key) for the chain of HOME."""
    from consensus.commit import sign_commit
    from consensus.transport import IdentityBinding, certificate_fingerprint, make_node_certificate
    from genesis.builder import GENESIS_FILE, P2P_KEY_FILE, write_private
    from genesis.schema import load_genesis
    from ledger.tx import address_of_key
    from node.p2p.network import OWN_CERTIFICATE_FILE

    genesis = load_genesis(home / GENESIS_FILE)
    from node.key_store import read_validator_key

    key = read_validator_key(home)
    cert_path = home / OWN_CERTIFICATE_FILE
    if not cert_path.exists():
        certificate, _ = make_node_certificate(key, genesis.chain_id)
        write_private(home / P2P_KEY_FILE, certificate.key_pem.decode())
        cert_path.write_bytes(certificate.certificate_pem)
    pem = cert_path.read_bytes()
    fingerprint = certificate_fingerprint(pem)
    binding = sign_commit(IdentityBinding.message(genesis.chain_id, fingerprint), key)
    return {"address": address_of_key(key), "p2p_certificate": pem.decode(), "p2p_binding": "0x" + binding.hex()}


def run_account(args: argparse.Namespace, load_key: LoadKey, fail: Fail) -> int:
    client = RpcClient(args.rpc)
    try:
        kind = ACCOUNT_KINDS[args.subcommand]
        account = client.call("qenex_getAccount", args.account)
        if account is None:
            return fail(f"account {args.account} does not exist on this chain")
        exponent = next(c["exponent"] for c in client.call("qenex_getCurrencies") if c["code"] == account["currency"])
        if kind == AdminKind.ACCOUNT_LIMITS and args.from_key is None:
            controls = client.call("qenex_getAccountControls", account["id"])
            for name in ("perTransferMax", "dailyMax"):
                controls[name] = format_amount(int(controls[name]), exponent)
            print(json.dumps(controls, indent=2))
            return 0
        if args.from_key is None:
            return fail("--from KEY is required (the compliance officer's or the operator's key)")
        per_transfer = daily = 0
        if kind == AdminKind.ACCOUNT_LIMITS:
            per_transfer = parse_amount(args.per_transfer, exponent) if args.per_transfer != "0" else 0
            daily = parse_amount(args.daily, exponent) if args.daily != "0" else 0
        return _send(client, args, load_key, account_action(kind, account["id"], per_transfer, daily), fail)
    except (ValueError, LedgerError, ConnectionError, RpcCallError, TimeoutError) as exc:
        return fail(str(exc))


def _signing_options(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument("--from", dest="from_key", required=required, help="hex private key or keystore file")
    p.add_argument("--password-file", help="keystore password file (else prompted)")
    p.add_argument("--wait", action="store_true", help="wait for the receipt; exit 1 if the chain refused")
    p.add_argument("--wait-timeout", type=float, default=60.0, help="seconds to wait (default 60)")


def register(commands: argparse._SubParsersAction, account: argparse._SubParsersAction, default_rpc: str,
             load_key: LoadKey, fail: Fail) -> None:  # fmt: skip
    """`qenex governance ...` as a new group, `freeze|unfreeze|close|limits` under `qenex account`."""
    governance = commands.add_parser("governance", help="roles and their on-chain governance").add_subparsers(
        dest="subcommand", required=True, metavar="SUBCOMMAND"
    )
    parsers = []
    p = governance.add_parser("propose", help="propose a role grant or revocation, or a chain parameter")
    change = p.add_mutually_exclusive_group(required=True)
    change.add_argument("--grant", choices=ROLES, help="grant this role to --holder")
    change.add_argument("--revoke", choices=ROLES, help="revoke this role from --holder")
    change.add_argument("--param", metavar="NAME=VALUE", help=f"set a chain parameter: {', '.join(PARAMS)}")
    change.add_argument(
        "--register-node", metavar="FILE", help="register a node's P2P identity (`governance identity`)"
    )
    change.add_argument("--revoke-node", metavar="ADDRESS", help="revoke a node's P2P identity: it is disconnected")
    change.add_argument(
        "--screening-model", metavar="DIR", help="pin this fraud model (stage it on every node first: `fraud stage`)"
    )
    p.add_argument("--holder", help="the role holder's 0x address")
    p.add_argument("--namespace", default="*", help="'*', 'prefix:ID_PREFIX' or 'iban:CC:BANKCODE' (default *)")
    p.add_argument("--deadline", type=int, help="last block height at which votes count (default head + 1000)")
    _signing_options(p)
    parsers.append(p)
    p = governance.add_parser("vote", help="vote for a proposal (its id is the proposing transaction's hash)")
    p.add_argument("proposal", help="proposal id (0x...)")
    _signing_options(p)
    parsers.append(p)
    p = governance.add_parser("list", help="proposals with their votes and outcome")
    p.add_argument("--status", choices=["open", "executed", "expired"])
    parsers.append(p)
    p = governance.add_parser("show", help="one proposal")
    p.add_argument("proposal", help="proposal id (0x...)")
    parsers.append(p)
    parsers.append(governance.add_parser("roles", help="the role grants in force and the governors' votes"))
    p = governance.add_parser("identity", help="print (making it once) this node's P2P identity to register")
    p.add_argument("--home", required=True, help="the node's home (genesis.json, validator.key)")
    parsers.append(p)
    for p in parsers:
        p.add_argument("--rpc", default=default_rpc, help=f"node JSON-RPC URL (default {default_rpc})")
        p.set_defaults(func=lambda args: run_governance(args, load_key, fail))

    helps = {
        "freeze": "freeze an account: no debit or credit (a compliance key covering it)",
        "unfreeze": "lift a freeze (a compliance key covering the account)",
        "close": "close a zero-balance account for good (the bank's operator key)",
        "limits": "show, or with --from set, per-transfer and daily debit limits (the operator key)",
    }
    for name, text in helps.items():
        p = account.add_parser(name, help=text)
        p.add_argument("account", help="account id / IBAN")
        p.add_argument("--rpc", default=default_rpc, help=f"node JSON-RPC URL (default {default_rpc})")
        _signing_options(p, required=name != "limits")
        if name == "limits":
            p.add_argument("--per-transfer", default="0", help="largest single debit, e.g. 1000.00 (0: no limit)")
            p.add_argument("--daily", default="0", help="debits per UTC day at most, e.g. 5000.00 (0: no limit)")
        p.set_defaults(func=lambda args: run_account(args, load_key, fail))
