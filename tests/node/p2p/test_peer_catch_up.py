"""A peer that connects late or again gets the mempool it missed, in bounded gossip frames."""

from __future__ import annotations

from support.nodes import signed_transfer

from genesis.builder import init_dev_home
from node.p2p import wire
from node.p2p.driver import ConsensusDriver
from node.service import Node, NodeConfig


class RecordingNetwork:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []
        self.on_peer_connected = None

    def send(self, peer: str, payload: bytes) -> None:
        self.sent.append((peer, payload))


def test_a_connecting_peer_is_sent_every_waiting_transaction_in_order(tmp_path):
    listing = init_dev_home(tmp_path / "home", accounts=2)
    node = Node(NodeConfig(tmp_path / "home", verify_workers=0))
    try:
        network = RecordingNetwork()
        driver = ConsensusDriver(node, network)  # type: ignore[arg-type]
        assert network.on_peer_connected == driver.peer_connected  # the network tells the driver
        raws = [signed_transfer(listing, 0, 1, 100 + n, n, n + 1) for n in range(wire.MAX_GOSSIP_TRANSACTIONS + 5)]
        for raw in raws:
            node.admit(raw)
        network.on_peer_connected("0xpeer")
        frames = [wire.decode_message(payload) for peer, payload in network.sent if peer == "0xpeer"]
        assert all(isinstance(f, wire.TxsMessage) for f in frames)
        assert len(frames) == 2 and len(frames[0].transactions) == wire.MAX_GOSSIP_TRANSACTIONS
        assert [raw for f in frames for raw in f.transactions] == raws
        network.sent.clear()
        driver.peer_connected("0xother")  # each peer that connects gets the whole mempool
        assert sum(len(wire.decode_message(p).transactions) for _, p in network.sent) == len(raws)
    finally:
        node.close()
