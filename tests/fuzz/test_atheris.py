"""Coverage-guided fuzzing in CI: every target of tests/fuzz/atheris_targets.py runs from valid
seeds for a bounded number of inputs (and seconds) in its own process; a crash (any exception
but the parser's documented error, a hang past the per-input timeout, memory past the limit)
fails the test and libFuzzer names the input it saved."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from eth_account import Account as EthAccount

from consensus.types import Vote, VoteKind
from ledger.transfer import Transfer
from ledger.tx import LedgerTransaction, References
from node.admin import vote
from node.block import Block, Header
from node.p2p import wire

pytest.importorskip("atheris", reason="atheris ships wheels for Linux x86_64 only (pyproject's test extra)")
pytestmark = pytest.mark.slow

HARNESS = Path(__file__).with_name("atheris_targets.py")
SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples"
KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
SECONDS_MAX = 10


def _ledger_seeds() -> list[bytes]:
    transfers = (
        Transfer(1, "DE89370400440532013000", "GL:BANKA:CASH", 12_345, "EUR"),
        Transfer(2, "GL:BANKA:FX:EUR", "GL:BANKA:FX:USD", 1, "EUR", code=7, fx_rate="1.0825"),
    )
    payment = LedgerTransaction(1337, 5, transfers, References("E2E-1", bytes(range(16)), bytes(32)))
    action = LedgerTransaction(1337, 6, (), action=vote(bytes(range(32))))
    return [payment.sign(KEY).encode(), action.sign(KEY).encode()]


def _ethereum_seeds() -> list[bytes]:
    base = {"nonce": 1, "gas": 21_000, "to": "0x" + "11" * 20, "value": 5, "data": "0x", "chainId": 1337}
    shapes = [
        base | {"gasPrice": 10},
        base | {"gasPrice": 10, "accessList": [{"address": "0x" + "22" * 20, "storageKeys": ["0x" + "00" * 32]}]},
        base | {"maxFeePerGas": 20, "maxPriorityFeePerGas": 1, "data": "0xa9059cbb" + "00" * 64},
    ]
    return [bytes(EthAccount.sign_transaction(shape, KEY).raw_transaction) for shape in shapes]


def _p2p_seeds() -> list[bytes]:
    address, signature = "0x" + "ab" * 20, bytes(range(65))
    header = Header(bytes(32), 3, 1_800_000_000, bytes(20), bytes(32), bytes(32), bytes(32), 0, 30_000_000, 0, b"q")
    block = Block(header, tuple(_ledger_seeds()), (signature,))
    messages = [
        wire.VoteMessage(Vote(VoteKind.PRECOMMIT, 1337, 3, 2, bytes(32), address, signature, signature)),
        wire.TxsMessage(tuple(_ledger_seeds())),
        wire.StatusMessage(10, 11, 2),
        wire.GetBlocksMessage(5, 64),
        wire.BlocksMessage((block,)),
    ]
    return [wire.encode(message) for message in messages]


def _payment_seeds() -> list[bytes]:
    if not SAMPLES.is_dir():
        pytest.skip(f"samples not present under {SAMPLES}")
    names = [
        "mt/mt103__mt2mx-input__finMessage_p_2_3_1_a_A_D.fin",
        "mt/mt202__prowide__MT202ParserTest__L293.fin",
        "iso20022/pacs.008.001.08__cbprplus__c.105.1.1_pacs.008_AtoB.xml",
        "iso20022/pain.001.001.09__sepaxml__test_00100109.xml",
    ]
    return [(SAMPLES / name).read_bytes() for name in names]


TARGETS = {  # target: (seeds, inputs to run)
    "ledger_transaction": (_ledger_seeds, 200_000),
    "ethereum_transaction": (_ethereum_seeds, 20_000),
    "p2p_frame": (_p2p_seeds, 200_000),
    "payment_message": (_payment_seeds, 10_000),
}


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_parser_survives_coverage_guided_fuzzing(target, tmp_path):
    seeds, runs = TARGETS[target]
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for index, seed in enumerate(seeds()):
        (corpus / f"seed-{index}").write_bytes(seed)
    flags = [f"-runs={runs}", f"-max_total_time={SECONDS_MAX}", "-timeout=10", "-rss_limit_mb=2048", "-seed=1"]
    result = subprocess.run(
        [sys.executable, str(HARNESS), target, str(corpus), *flags, f"-artifact_prefix={tmp_path}/"],
        capture_output=True,
        text=True,
        timeout=SECONDS_MAX + 120,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    crashes = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("crash-", "timeout-", "oom-")))
    assert result.returncode == 0 and not crashes, f"{target}: {crashes}\n{result.stderr[-4000:]}"
    assert re.search(r"Done \d+ runs", result.stderr), result.stderr[-2000:]
    features = [int(f) for f in re.findall(r"ft: (\d+)", result.stderr)]
    assert features and features[-1] > features[0], f"{target}: no new coverage from the seeds: {features[:3]}"
