"""`qenex contracts deploy` with a keystore against a running node: address, receipt, verification file."""

from __future__ import annotations

import json

from eth_account import Account
from support.nodes import run_cli
from web3 import Web3

from contracts.compiler import load_artifact


def test_deploy_with_a_keystore_writes_the_verification_input(evm_node, tmp_path):
    node, listing = evm_node
    keystore = tmp_path / "key.json"
    keystore.write_text(json.dumps(Account.encrypt(listing[2]["private_key"], "secret")))
    password = tmp_path / "password"
    password.write_text("secret\n")
    result = run_cli(
        "contracts", "deploy", "--rpc", node.url, "--keystore", str(keystore), "--password-file", str(password),
        "--contract", "TestToken", "--args", "Euro", "EUR", "2", "--out", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    deployed = json.loads(result.stdout)
    w3 = Web3(Web3.HTTPProvider(node.url))
    token = w3.eth.contract(address=deployed["address"], abi=load_artifact("TestToken")["abi"])
    assert token.functions.symbol().call() == "EUR" and token.functions.decimals().call() == 2
    assert token.functions.minter().call() == listing[2]["address"]
    verification = json.loads((tmp_path / f"TestToken-{deployed['address']}.verify.json").read_text())
    assert verification["contractName"] == "TestToken.sol:TestToken"
    assert verification["compilerVersion"].startswith("v0.8.28+commit.")
    assert verification["constructorArguments"].startswith("0x") and len(verification["constructorArguments"]) > 2
    assert "TestToken.sol" in verification["standardJsonInput"]["sources"]


def test_deploy_refuses_wrong_arguments_with_a_clear_error(evm_node, tmp_path):
    node, listing = evm_node
    result = run_cli(
        "contracts", "deploy", "--rpc", node.url, "--keystore", listing[0]["private_key"],
        "--contract", "Escrow", "--args", "0x1234",
    )  # fmt: skip
    assert result.returncode == 1
    assert "the constructor takes 6 arguments" in result.stderr
    result = run_cli(
        "contracts", "deploy", "--rpc", node.url, "--keystore", listing[0]["private_key"], "--contract", "Nope"
    )
    assert result.returncode == 1 and "no artifact for contract 'Nope'" in result.stderr
