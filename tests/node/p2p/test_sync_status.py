"""eth_syncing: False when caught up (one block behind is ordinary consensus), the execution-apis
sync object while peers are further ahead, with the height the catching-up started from."""

from __future__ import annotations

from genesis.builder import init_dev_home
from node.p2p.driver import ConsensusDriver
from node.rpc.methods import RpcMethods
from node.service import Node, NodeConfig


def test_eth_syncing_follows_the_peers_heads(tmp_path):
    home = tmp_path / "home"
    init_dev_home(home, accounts=2)
    node = Node(NodeConfig(home, verify_workers=0))
    try:
        node.consensus = ConsensusDriver(node, None)
        syncing = RpcMethods(node).table()["eth_syncing"]
        assert syncing([]) is False
        node.consensus.peer_heads["peer-a"] = 1  # one block ahead: consensus, not sync
        assert syncing([]) is False
        node.consensus.peer_heads["peer-b"] = 40
        assert syncing([]) == {"startingBlock": "0x0", "currentBlock": "0x0", "highestBlock": "0x28"}
        node.consensus.peer_heads["peer-b"] = 1
        assert syncing([]) is False, "caught up again"
    finally:
        node.close()
