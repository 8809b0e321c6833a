"""SWIFT MT, ISO 20022 and SEPA gateways that turn messages into signed ledger transactions.
Built by issue #5 on the ledger transaction codec (ledger.tx) and the node's JSON-RPC."""
