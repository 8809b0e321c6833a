"""`qenex validator list|propose|approve|evidence`: the validator set and its on-chain changes.

A change is a chain action (node/governance.py) signed locally with a validator's key and sent
with eth_sendRawTransaction like any transaction; it takes effect two blocks after validators
holding more than 2/3 of the voting power have approved it.
"""

from __future__ import annotations

import argparse
import json

from ledger.tx import Action, LedgerTransaction, address_of_key
from node.governance import approve, propose_validator
from node.rpc.client import RpcCallError, RpcClient
from node.wallet import wait_for_receipt

DEFAULT_DEADLINE_BLOCKS = 1000


def send_action(client: RpcClient, key: bytes, action: Action, wait: bool, timeout: float) -> dict:
    chain_id = int(client.call("eth_chainId"), 16)
    nonce = int(client.call("eth_getTransactionCount", address_of_key(key), "pending"), 16)
    raw = LedgerTransaction(chain_id, nonce, (), action=action).sign(key).encode()
    tx_hash = client.call("eth_sendRawTransaction", "0x" + raw.hex())
    result: dict = {"transactionHash": tx_hash, "from": address_of_key(key), "nonce": nonce}
    if wait:
        receipt = wait_for_receipt(client, tx_hash, timeout)
        result["status"] = receipt["status"]
        result["blockNumber"] = int(receipt["blockNumber"], 16)
        if receipt.get("error"):
            result["error"] = receipt["error"]
    return result


def run(args: argparse.Namespace, load_key: object, fail: object) -> int:
    client = RpcClient(args.rpc)
    try:
        if args.subcommand == "list":
            params = [] if args.height is None else [args.height]
            print(json.dumps(client.call("qenex_getValidators", *params), indent=2))
            return 0
        if args.subcommand == "proposals":
            print(json.dumps(client.call("qenex_getValidatorProposals"), indent=2))
            return 0
        if args.subcommand == "evidence":
            print(json.dumps(client.call("qenex_getEvidence"), indent=2))
            return 0
        key = load_key(args.from_key, args.password_file)  # type: ignore[operator]
        if args.subcommand == "propose":
            public_key = bytes.fromhex(args.public_key.removeprefix("0x"))
            if len(public_key) == 65 and public_key[0] == 4:
                public_key = public_key[1:]
            if len(public_key) != 64:
                return fail("--public-key must be the 64-byte uncompressed secp256k1 key (0x04 prefix optional)")  # type: ignore[operator]
            height = int(client.call("eth_blockNumber"), 16)
            deadline = args.deadline if args.deadline is not None else height + DEFAULT_DEADLINE_BLOCKS
            action = propose_validator(args.address, public_key, args.power, deadline)
        else:
            action = approve(bytes.fromhex(args.proposal.removeprefix("0x")))
        print(json.dumps(send_action(client, key, action, args.wait, args.wait_timeout), indent=2))
    except (ValueError, ConnectionError, RpcCallError, TimeoutError) as exc:
        return fail(str(exc))  # type: ignore[operator]
    return 0


def register(commands: argparse._SubParsersAction, default_rpc: str, handler: object) -> None:
    validator = commands.add_parser("validator", help="the validator set and its on-chain changes").add_subparsers(
        dest="subcommand", required=True, metavar="SUBCOMMAND"
    )
    p = validator.add_parser("list", help="the validator set (of the next block, or of --height)")
    p.add_argument("--height", type=int, help="the set that decides this block height")
    parsers = [p]
    parsers.append(validator.add_parser("proposals", help="validator-set change proposals and their approvals"))
    parsers.append(validator.add_parser("evidence", help="equivocations recorded on chain"))
    p = validator.add_parser("propose", help="propose adding (power > 0), re-weighting or removing (power 0)")
    p.add_argument("--address", required=True, help="the validator's address")
    p.add_argument("--public-key", required=True, help="its 64-byte uncompressed secp256k1 public key (hex)")
    p.add_argument("--power", type=int, required=True, help="voting power; 0 removes the validator")
    p.add_argument("--deadline", type=int, help="last block height at which approvals count (default head + 1000)")
    parsers.append(p)
    p = validator.add_parser("approve", help="approve a proposal (its id is the proposing transaction's hash)")
    p.add_argument("proposal", help="proposal id (0x...)")
    parsers.append(p)
    for p in parsers:
        p.set_defaults(func=handler)
        p.add_argument("--rpc", default=default_rpc, help=f"node JSON-RPC URL (default {default_rpc})")
        if p.prog.split()[-1] in ("propose", "approve"):
            p.add_argument("--from", dest="from_key", required=True, help="a validator's hex private key or keystore")
            p.add_argument("--password-file", help="keystore password file (else prompted)")
            p.add_argument("--wait", action="store_true", help="wait for the receipt")
            p.add_argument("--wait-timeout", type=float, default=60.0, help="seconds to wait (default 60)")
