"""`qenex contracts deploy` sends the same artifacts to Anvil (npm @foundry-rs/anvil-linux-amd64)
as to our node: Anvil stands in for a public EVM testnet."""

from __future__ import annotations

import json
import time

import pytest
from support.nodes import run_cli
from web3 import Web3

from bench.anvil import DEFAULT_KEY, start_anvil
from contracts.compiler import load_artifact


@pytest.fixture(scope="module")
def anvil():
    chain = start_anvil()
    yield chain
    chain.stop()


def deploy(url: str, out, contract: str, *args: str) -> dict:
    result = run_cli(
        "contracts", "deploy", "--rpc", url, "--keystore", DEFAULT_KEY, "--contract", contract,
        "--out", str(out), "--args", *args,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_same_artifacts_deploy_to_anvil(anvil, tmp_path):
    w3 = Web3(Web3.HTTPProvider(anvil.url))
    token = deploy(anvil.url, tmp_path, "TestToken", "Euro", "EUR", "2")
    assert token["chainId"] == 31337
    deployed = w3.eth.contract(address=token["address"], abi=load_artifact("TestToken")["abi"])
    assert deployed.functions.symbol().call() == "EUR"
    parties = [w3.eth.accounts[i] for i in (1, 2, 3)]
    escrow = deploy(anvil.url, tmp_path, "Escrow", token["address"], *parties, "100", str(int(time.time()) + 3600))
    assert len(w3.eth.get_code(escrow["address"])) > 0
    multisig = deploy(anvil.url, tmp_path, "MultiSig", json.dumps(parties), "2")
    wallet = w3.eth.contract(address=multisig["address"], abi=load_artifact("MultiSig")["abi"])
    assert wallet.functions.threshold().call() == 2 and wallet.functions.ownerCount().call() == 3
    assert (tmp_path / f"Escrow-{escrow['address']}.verify.json").is_file()
