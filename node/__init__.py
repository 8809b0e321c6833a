"""The QENEX node process: chain, mempool, block production, JSON-RPC and the `qenex` CLI."""
