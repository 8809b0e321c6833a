"""web3.py against a running node with no middleware: deploy artifacts, send, call; raw JSON-RPC."""

from __future__ import annotations

import json
import time
import urllib.request

from eth_account import Account
from web3 import Web3

from contracts.compiler import load_artifact


class Chain:
    """web3.py against the node, with no middleware: deploy, transact, call."""

    def __init__(self, url: str, listing: list[dict]) -> None:
        self.w3 = Web3(Web3.HTTPProvider(url))
        self.accounts = [Account.from_key(entry["private_key"]) for entry in listing]

    def deploy(self, name: str, *args, sender: int = 0):
        artifact = load_artifact(name)
        factory = self.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        receipt = self.send(factory.constructor(*args), sender)
        assert receipt["status"] == 1, f"{name} deployment reverted"
        return self.w3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])

    def send(self, call, sender: int = 0, gas: int | None = None):
        """Build (estimating gas unless given), sign, send raw, wait for the receipt."""
        account = self.accounts[sender]
        fields = {"from": account.address, "nonce": self.w3.eth.get_transaction_count(account.address, "pending")}
        if gas is not None:
            fields["gas"] = gas
        tx = call.build_transaction(fields)
        tx_hash = self.w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
        return self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=20, poll_latency=0.05)

    def address(self, index: int) -> str:
        return self.accounts[index].address

    def wait_until(self, timestamp: int) -> None:
        """Sleep until a block made now would carry a timestamp past `timestamp`."""
        while int(time.time()) <= timestamp:
            time.sleep(0.2)


def rpc(url: str, method: str, *params, headers: dict[str, str] | None = None) -> dict:
    """`headers`: credentials for debug_*/txpool_* (node.rpc.auth.home_credentials(home))."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())
