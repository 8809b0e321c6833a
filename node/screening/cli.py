"""`qenex fraud ...`: train, evaluate and export screening models (registered by node/cli.py)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from node.rpc.client import DEFAULT_RPC_URL

# Every `qenex` command builds this parser, `qenex node run` included: scikit-learn, skops and
# numpy are imported only by the fraud commands that use them (node start-up stays fast).
FORMATS = ("handbook", "ulb")


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


class _Bar:
    """A tqdm bar on stderr whose total grows as stages announce themselves."""

    def __init__(self, description: str) -> None:
        from tqdm import tqdm

        self.bar = tqdm(desc=description, unit="tx", file=sys.stderr, dynamic_ncols=True, mininterval=0.5)

    def __call__(self, stage: str, done: int) -> None:
        if stage != "features":
            self.bar.set_description(stage)
        if done:
            self.bar.update(done)

    def close(self) -> None:
        self.bar.close()


def cmd_fraud_train(args: argparse.Namespace) -> int:
    from node.screening.data import DataFileError
    from node.screening.model import ModelError
    from node.screening.training import TrainOptions, train_handbook, train_ulb

    options = TrainOptions(reject_precision=args.reject_precision, label_delay_seconds=args.label_delay_days * 86400)
    bar = _Bar("reading")
    try:
        trainer = train_handbook if args.format == "handbook" else train_ulb
        digest, manifest = trainer(Path(args.data), Path(args.out), options, bar)
    except (DataFileError, ModelError, ValueError) as exc:
        bar.close()
        return _fail(str(exc))
    bar.close()
    report = manifest["metrics_report_period"]
    print(f"model: {args.out}")
    print(f"sha256: {digest}   (pin as genesis screening.model_sha256)")
    print(f"classifier: {manifest['classifier']}  candidates PR-AUC: {manifest['classifier_candidates_pr_auc']}")
    print(f"thresholds: {manifest['thresholds']}")
    print("report period: " + json.dumps(report, sort_keys=True))
    return 0


def _date(text: str) -> int:
    try:
        return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO date (2018-07-25 or 2018-07-25T00:00:00)") from None


def cmd_fraud_eval(args: argparse.Namespace) -> int:
    from node.screening.data import DataFileError
    from node.screening.evaluate import evaluate
    from node.screening.model import ModelError

    bar = None if args.json else _Bar("replaying")
    try:
        result = evaluate(Path(args.model), Path(args.data), args.format, args.since, bar)
    except (DataFileError, ModelError, ValueError) as exc:
        return _fail(str(exc))
    finally:
        if bar is not None:
            bar.close()
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        for key in sorted(result):
            print(f"{key}: {result[key]}")
    return 0


def cmd_fraud_bench(args: argparse.Namespace) -> int:
    from bench.screening_bench import main

    return main(args)


def cmd_fraud_export(args: argparse.Namespace) -> int:
    from node.screening.export import export_transfers

    try:
        count = export_transfers(args.rpc, Path(args.out))
    except (OSError, ValueError) as exc:
        return _fail(str(exc))
    print(f"{count} transfers written to {args.out}")
    return 0


def _sign(key_spec: str, password_file: str | None, message: bytes) -> str:
    import coincurve

    from node.cli import load_private_key

    signature = coincurve.PrivateKey(load_private_key(key_spec, password_file)).sign_recoverable(message, hasher=None)
    return "0x" + signature.hex()


def _rpc_call(url: str, method: str, *params: object, headers: dict[str, str] | None = None) -> int:
    from node.rpc.client import RpcCallError, RpcClient

    try:
        result = RpcClient(url, headers=headers).call(method, *params)
    except (RpcCallError, OSError) as exc:
        return _fail(str(exc))
    print(json.dumps(result, indent=2, sort_keys=True))
    return 0


def cmd_fraud_stage(args: argparse.Namespace) -> int:
    """Copy a model to HOME/screening-models/<hash>, checked loadable first: every validator must
    hold it before the governance change of the pin executes, or it stops at that block."""
    import shutil

    from node.screening.model import ModelError, load_model, model_hash
    from node.screening.screener import staged_model_dir

    try:
        digest = model_hash(Path(args.model))
        load_model(Path(args.model), expected_sha256=digest)
    except ModelError as exc:
        return _fail(str(exc))
    target = staged_model_dir(Path(args.home), digest)
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(args.model, target)
    print(json.dumps({"sha256": digest, "staged": str(target)}, indent=2))
    print(f"propose it with: qenex governance propose --screening-model {args.model} --from KEY", file=sys.stderr)
    return 0


def cmd_fraud_held(args: argparse.Namespace) -> int:
    from node.rpc.auth import home_credentials

    if args.api_key:
        headers = {"X-API-Key": args.api_key}
    elif args.home:
        headers = home_credentials(Path(args.home))  # the node's own JWT secret: its operator
    else:
        return _fail("the review queue needs a credential: --api-key KEY (compliance, auditor or operator) or --home")
    return _rpc_call(args.rpc, "qenex_getHeldTransactions", headers=headers)


def cmd_fraud_review(args: argparse.Namespace) -> int:
    from node.rpc.client import RpcClient
    from node.screening.review import decision_message

    tx_hash = bytes.fromhex(args.tx_hash.removeprefix("0x"))
    chain_id = int(RpcClient(args.rpc).call("eth_chainId"), 16)
    signature = _sign(args.from_key, args.password_file, decision_message(chain_id, tx_hash, args.decision))
    return _rpc_call(args.rpc, "qenex_reviewHeldTransaction", "0x" + tx_hash.hex(), args.decision, signature)


def cmd_fraud_report(args: argparse.Namespace) -> int:
    from node.rpc.client import RpcClient
    from node.screening.review import report_message

    transfer_id = int(args.transfer_id, 0)
    chain_id = int(RpcClient(args.rpc).call("eth_chainId"), 16)
    signature = _sign(args.from_key, args.password_file, report_message(chain_id, transfer_id))
    return _rpc_call(args.rpc, "qenex_reportFraud", hex(transfer_id), signature)


def add_screening_options(parser: argparse.ArgumentParser) -> None:
    """`--screening-model DIR`: pin a trained model in a new dev genesis (screening on)."""
    parser.add_argument("--screening-model", help="model directory from `qenex fraud train`: screen every transaction")
    parser.add_argument("--hold-expiry-seconds", type=int, default=86400, help="held transactions expire after this")


def register(commands: argparse._SubParsersAction) -> None:
    """Add the `fraud` command group to the `qenex` parser."""
    fraud = commands.add_parser("fraud", help="train, evaluate and export fraud-screening models").add_subparsers(
        dest="subcommand", required=True, metavar="SUBCOMMAND"
    )
    p = fraud.add_parser("train", help="train a screening model on a labelled CSV (.csv or .csv.gz)")
    p.add_argument("--data", required=True, help="labelled CSV file")
    p.add_argument("--format", choices=FORMATS, default="handbook", help="column layout (default handbook)")
    p.add_argument("--out", required=True, help="model directory to write (model.skops + manifest.json)")
    p.add_argument("--reject-precision", type=float, default=0.95, help="precision the reject threshold must reach")
    p.add_argument("--label-delay-days", type=int, default=7, help="days before a confirmed label may be used")
    p.set_defaults(func=cmd_fraud_train)
    p = fraud.add_parser("eval", help="replay a labelled CSV in time order and measure a model")
    p.add_argument("--model", required=True, help="model directory")
    p.add_argument("--data", required=True, help="labelled CSV file")
    p.add_argument("--format", choices=FORMATS, default="handbook", help="column layout (default handbook)")
    p.add_argument("--since", type=_date, help="score only payments from this date (earlier ones warm the state)")
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    p.set_defaults(func=cmd_fraud_eval)
    p = fraud.add_parser("export", help="write the chain's transfers with confirmed-fraud labels (handbook format)")
    p.add_argument("--rpc", default=DEFAULT_RPC_URL, help=f"node JSON-RPC URL (default {DEFAULT_RPC_URL})")
    p.add_argument("--out", required=True, help="CSV file to write")
    p.set_defaults(func=cmd_fraud_export)
    p = fraud.add_parser("bench", help="latency screening adds per transaction at block sizes, vs a secp256k1 anchor")
    p.add_argument("--model", required=True, help="model directory from `qenex fraud train`")
    p.add_argument("--block-sizes", default="1,10,100,250,1000,10000", help="comma-separated block sizes")
    p.add_argument("--repeats", type=int, default=50, help="blocks timed per size (default 50)")
    p.add_argument("--accounts", type=int, default=2000, help="synthetic debtors/creditors (default 2000)")
    p.add_argument("--warm-days", type=int, default=31, help="days of history before timing (default 31)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_fraud_bench)
    p = fraud.add_parser("stage", help="place a model where the node loads it once governance pins its hash")
    p.add_argument("--model", required=True, help="model directory from `qenex fraud train`")
    p.add_argument("--home", required=True, help="the node's home")
    p.set_defaults(func=cmd_fraud_stage)
    p = fraud.add_parser("held", help="list the transactions held for compliance review")
    p.add_argument("--rpc", default=DEFAULT_RPC_URL, help=f"node JSON-RPC URL (default {DEFAULT_RPC_URL})")
    p.add_argument("--api-key", default=os.environ.get("QENEX_API_KEY"),
                   help="API key of a compliance, auditor or operator role (default $QENEX_API_KEY)")  # fmt: skip
    p.add_argument("--home", help="the node's home: authenticate with its JWT secret (operator)")
    p.set_defaults(func=cmd_fraud_held)
    p = fraud.add_parser("review", help="compliance: release or reject a held transaction (signed)")
    p.add_argument("tx_hash")
    p.add_argument("decision", choices=("release", "reject"))
    p.add_argument("--rpc", default=DEFAULT_RPC_URL, help=f"node JSON-RPC URL (default {DEFAULT_RPC_URL})")
    p.add_argument("--from", dest="from_key", required=True, help="compliance key: hex private key or keystore file")
    p.add_argument("--password-file", help="keystore password file (else prompted)")
    p.set_defaults(func=cmd_fraud_review)
    p = fraud.add_parser("report", help="compliance: report a booked transfer as confirmed fraud (signed)")
    p.add_argument("transfer_id", help="transfer id (0x hex or decimal)")
    p.add_argument("--rpc", default=DEFAULT_RPC_URL, help=f"node JSON-RPC URL (default {DEFAULT_RPC_URL})")
    p.add_argument("--from", dest="from_key", required=True, help="compliance key: hex private key or keystore file")
    p.add_argument("--password-file", help="keystore password file (else prompted)")
    p.set_defaults(func=cmd_fraud_report)
