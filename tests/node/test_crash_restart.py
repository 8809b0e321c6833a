"""Kill -9 a node while transfers stream in; everything with a receipt survives, verify passes."""

from __future__ import annotations

import random
import signal
import threading
import time

from support.nodes import run_cli, signed_transfer, start_node


class Streamer(threading.Thread):
    """Sends transfers in small batches and records those whose receipt the node returned."""

    def __init__(self, node, listing, first_id: int) -> None:
        super().__init__(daemon=True)
        self.node, self.listing = node, listing
        self.next_id = first_id
        self.confirmed: list[tuple[str, int, str]] = []  # (tx hash, transfer id, block hash)
        self.stop_flag = threading.Event()

    def run(self) -> None:
        rpc = self.node.rpc
        try:
            nonces = [int(rpc.call("eth_getTransactionCount", k["address"], "pending"), 16) for k in self.listing]
            while not self.stop_flag.is_set():
                sent = []
                calls = []
                for payer in range(len(self.listing)):
                    payee = (payer + 1) % len(self.listing)
                    for _ in range(5):
                        raw = signed_transfer(
                            self.listing, payer, payee, 1 + self.next_id % 97, nonces[payer], self.next_id
                        )
                        calls.append(("eth_sendRawTransaction", ["0x" + raw.hex()]))
                        sent.append(self.next_id)
                        nonces[payer] += 1
                        self.next_id += 1
                replies = rpc.batch(calls)
                hashes = [(r["result"], tid) for r, tid in zip(replies, sent, strict=True)]
                assert all("result" in r for r in replies), replies
                pending = dict(hashes)
                while pending and not self.stop_flag.is_set():
                    receipts = rpc.batch([("eth_getTransactionReceipt", [h]) for h in pending])
                    for (tx_hash, transfer_id), reply in zip(list(pending.items()), receipts, strict=True):
                        receipt = reply.get("result")
                        if receipt is not None:
                            assert receipt["status"] == "0x1", receipt
                            self.confirmed.append((tx_hash, transfer_id, receipt["blockHash"]))
                            del pending[tx_hash]
                    time.sleep(0.02)
        except (ConnectionError, OSError):
            return  # the node was killed under us


def test_sigkill_during_streaming_loses_nothing_with_a_receipt(node_home):
    home, listing = node_home
    rng = random.Random(20261123)
    next_id = 1
    all_confirmed: list[tuple[str, int, str]] = []
    for round_number in range(3):
        node = start_node(home)
        streamer = Streamer(node, listing, next_id)
        streamer.start()
        time.sleep(1.0 + rng.random() * 1.5)
        node.process.send_signal(signal.SIGKILL)
        node.process.wait(timeout=10)
        streamer.stop_flag.set()
        streamer.join(timeout=10)
        assert streamer.confirmed, f"round {round_number}: nothing was confirmed before the kill"
        all_confirmed.extend(streamer.confirmed)
        next_id = streamer.next_id + 1000

        restarted = start_node(home)
        try:
            rpc = restarted.rpc
            for tx_hash, transfer_id, block_hash in all_confirmed:
                assert rpc.call("qenex_getTransfer", hex(transfer_id)) is not None, transfer_id
                receipt = rpc.call("eth_getTransactionReceipt", tx_hash)
                assert receipt is not None and receipt["blockHash"] == block_hash
        finally:
            assert restarted.stop() == 0

    result = run_cli("ledger", "verify", "--home", str(home))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ledger verify ok" in result.stdout


def test_restart_resumes_at_same_height_and_state(running_node):
    node, listing = running_node
    rpc = node.rpc
    tx_hash = rpc.call("eth_sendRawTransaction", "0x" + signed_transfer(listing, 0, 1, 42, 0, 1).hex())
    from support.nodes import wait_receipt

    wait_receipt(rpc, tx_hash)
    before = rpc.call("eth_getBlockByNumber", "latest", False)
    assert node.stop() == 0
    restarted = start_node(node.home)
    try:
        after = restarted.rpc.call("eth_getBlockByNumber", "latest", False)
        assert after["hash"] == before["hash"] and after["stateRoot"] == before["stateRoot"]
        assert restarted.rpc.call("eth_getTransactionCount", listing[0]["address"], "latest") == "0x1"
        again = restarted.rpc.call("eth_sendRawTransaction", "0x" + signed_transfer(listing, 0, 1, 1, 1, 2).hex())
        assert wait_receipt(restarted.rpc, again)["status"] == "0x1"
    finally:
        restarted.stop()
