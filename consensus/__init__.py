"""BFT consensus: Tendermint (arXiv 1807.04938, Algorithm 1) as a pure state machine, the
seeded network simulator that tests it, validator sets and commit certificates, the signing
WAL and the mutual-TLS peer transport. The driver that joins them to the node is not built
yet (docs/consensus.md)."""
