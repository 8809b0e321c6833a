"""Deploy a compiled contract to any EVM JSON-RPC endpoint with web3.py (no middleware).

The same artifacts go to a QENEX node, Anvil or a public testnet: the transaction is built
with the endpoint's chain id, nonce, gas estimate and fees (EIP-1559 when the endpoint's
blocks carry a base fee), signed locally, sent raw, and its receipt awaited. Next to the
address, a verification file is written: the standard-JSON input that produced the bytecode,
the compiler version and the ABI-encoded constructor arguments, which is what block explorers
(Etherscan, Blockscout, Sourcify) ask for.
"""

from __future__ import annotations

import json
from pathlib import Path

from eth_abi import encode as abi_encode
from eth_account import Account
from web3 import Web3

from contracts.compiler import ARTIFACTS_DIR, STANDARD_INPUT, load_artifact

MAX_ARGS = 32


class DeployError(RuntimeError):
    """The deployment was refused or reverted; the message says which and why."""


def _coerce(kind: str, text: object) -> object:
    """A command-line value (or JSON element) as the ABI type `kind` wants it."""
    if kind.endswith("]"):
        items = json.loads(text) if isinstance(text, str) else text
        if not isinstance(items, list):
            raise ValueError(f"{kind} argument must be a JSON list, got {text!r}")
        inner = kind[: kind.rindex("[")]
        return [_coerce(inner, item) for item in items]
    value = str(text) if not isinstance(text, int | bool) else text
    if kind == "address":
        if not Web3.is_address(value):
            raise ValueError(f"{value!r} is not an address")
        return Web3.to_checksum_address(value)
    if kind.startswith(("uint", "int")):
        return value if isinstance(value, int) else int(value, 0)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if value.lower() not in ("true", "false"):
            raise ValueError(f"bool argument must be true or false, got {value!r}")
        return value.lower() == "true"
    if kind.startswith("bytes"):
        return bytes.fromhex(value.removeprefix("0x"))
    return value


def constructor_args(abi: list[dict], args: list[str]) -> list[object]:
    inputs = next((item["inputs"] for item in abi if item.get("type") == "constructor"), [])
    if len(args) != len(inputs) or len(args) > MAX_ARGS:
        wanted = ", ".join(f"{i['type']} {i['name']}" for i in inputs) or "none"
        raise ValueError(f"the constructor takes {len(inputs)} arguments ({wanted}); {len(args)} given")
    coerced = []
    for spec, text in zip(inputs, args, strict=True):
        try:
            coerced.append(_coerce(spec["type"], text))
        except (ValueError, json.JSONDecodeError) as exc:
            raise ValueError(f"argument {spec['name']} ({spec['type']}): {exc}") from None
    return coerced


def deploy(
    rpc_url: str,
    private_key: bytes,
    contract_name: str,
    args: list[str],
    out_dir: Path,
    timeout: float = 120.0,
    artifacts_dir: Path = ARTIFACTS_DIR,
) -> dict:
    """Deploy, wait for the receipt, write the verification file; return what was done."""
    artifact = load_artifact(contract_name, artifacts_dir)
    values = constructor_args(artifact["abi"], args)
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}))
    account = Account.from_key(private_key)
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    chain_id = w3.eth.chain_id
    try:
        tx = factory.constructor(*values).build_transaction(
            {
                "from": account.address,
                "nonce": w3.eth.get_transaction_count(account.address, "pending"),
                "chainId": chain_id,
            }
        )
        tx_hash = w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
    except Exception as exc:  # web3 raises per-provider error types; the message is the endpoint's
        raise DeployError(f"{contract_name} was not deployed: {exc}") from None
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=timeout, poll_latency=0.2)
    if receipt["status"] != 1:
        raise DeployError(f"{contract_name} deployment {tx_hash.hex()} reverted in block {receipt['blockNumber']}")
    address = receipt["contractAddress"]
    inputs = next((item["inputs"] for item in artifact["abi"] if item.get("type") == "constructor"), [])
    encoded_args = abi_encode([i["type"] for i in inputs], values) if inputs else b""
    verification = {
        "address": address,
        "chainId": chain_id,
        "contractName": f"{artifact['sourceName']}:{artifact['contractName']}",
        "compilerVersion": "v" + artifact["compiler"]["version"],
        "constructorArguments": "0x" + encoded_args.hex(),
        "standardJsonInput": json.loads((artifacts_dir / STANDARD_INPUT).read_text()),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    verify_path = out_dir / f"{contract_name}-{address}.verify.json"
    verify_path.write_text(json.dumps(verification, indent=2, sort_keys=True) + "\n")
    return {
        "contract": contract_name,
        "address": address,
        "transactionHash": "0x" + bytes(tx_hash).hex(),
        "blockNumber": receipt["blockNumber"],
        "gasUsed": receipt["gasUsed"],
        "chainId": chain_id,
        "verification": str(verify_path),
    }
