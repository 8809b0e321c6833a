"""JSON-RPC 2.0 over HTTP: Ethereum methods wallets use, and the qenex_ ledger namespace."""
