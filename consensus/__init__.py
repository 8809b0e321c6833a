"""BFT consensus. Today: validator sets and commit certificates, which every block carries and
every import checks. The Tendermint state machine, its driver, WAL, peer transport and the
network simulator arrive with the consensus issue (#3)."""
