"""The QENEX node process: chain, mempool, block production, JSON-RPC and the `qenex` CLI."""

import os

# py-evm, eth-account and web3 hash through eth-hash, whose automatic choice is pycryptodome's
# Python wrapper (~7x slower per short input than the C pysha3 backend ledger/hashing.py uses).
# The backend is chosen at the first hash, so this must run before any: the package's import.
os.environ.setdefault("ETH_HASH_BACKEND", "pysha3")
