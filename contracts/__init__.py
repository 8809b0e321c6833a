"""Solidity contracts, their compiler and deploy tools, and the py-evm executor.
Built by the EVM issue (#4); the ledger transaction of issue #2 does not need it."""
