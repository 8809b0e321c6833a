"""Coverage-guided fuzz targets (atheris, i.e. libFuzzer over instrumented Python) for the parsers
that take bytes from the network: ledger/action transactions (RLP), Ethereum transactions, P2P
frames, and payment messages (SWIFT MT and ISO 20022 XML).

Why besides hypothesis: hypothesis draws inputs from the shapes a test describes; libFuzzer keeps
every input that reaches new branches and mutates those, so it walks into the decoders' deep error
paths from a handful of valid seeds without anyone describing them. A target's contract is the
parsers' own: a value, or the one documented error type naming what is wrong. Any other exception
is a crash, and libFuzzer saves the input that caused it.

Run: `python tests/fuzz/atheris_targets.py TARGET CORPUS_DIR -runs=N` (tests/fuzz/test_atheris.py
runs every target for a bounded number of inputs in CI).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable

import atheris

CHAIN_ID = 1337
MAX_LEN = 64 * 1024
Target = Callable[[bytes], None]


# Each target instruments only the packages its parser lives in: instrumenting every third-party
# module it imports (py-evm, web3, eth_utils) costs ~20 s of start-up and finds nothing of ours.


def _ledger_transaction() -> Target:
    with atheris.instrument_imports(include=["ledger"]):
        from ledger.tx import InvalidSignatureError, TransactionDecodeError, decode_transaction

    def one_input(data: bytes) -> None:
        try:
            tx = decode_transaction(data)
        except (TransactionDecodeError, InvalidSignatureError):
            return
        with contextlib.suppress(InvalidSignatureError):
            tx.sender()

    return one_input


def _ethereum_transaction() -> Target:
    with atheris.instrument_imports(include=["contracts", "rlp"]):
        from contracts.evm.transaction import EvmTxInvalid, decode_ethereum

    def one_input(data: bytes) -> None:
        with contextlib.suppress(EvmTxInvalid):
            decode_ethereum(data, CHAIN_ID)

    return one_input


def _p2p_frame() -> Target:
    with atheris.instrument_imports(include=["node.p2p", "node.block", "consensus", "ledger"]):
        from node.p2p.wire import WireError, decode_message

    def one_input(data: bytes) -> None:
        with contextlib.suppress(WireError):
            decode_message(data)

    return one_input


def _payment_message() -> Target:
    with atheris.instrument_imports(include=["gateways"]):
        from gateways.messages import parse
        from gateways.problems import MessageError

    def one_input(data: bytes) -> None:
        try:
            parse(data)
        except MessageError as error:
            assert error.problems, "a MessageError names its problems"

    return one_input


TARGETS: dict[str, Callable[[], Target]] = {
    "ledger_transaction": _ledger_transaction,
    "ethereum_transaction": _ethereum_transaction,
    "p2p_frame": _p2p_frame,
    "payment_message": _payment_message,
}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: {sys.argv[0]} {{{','.join(TARGETS)}}} [CORPUS_DIR] [libFuzzer flags]")
    target = TARGETS[sys.argv[1]]()
    atheris.Setup([sys.argv[0], f"-max_len={MAX_LEN}", *sys.argv[2:]], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
