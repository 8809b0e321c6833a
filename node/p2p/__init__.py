"""Peer-to-peer: the wire messages between nodes, the consensus driver's gossip and block sync."""
