"""GraphQL at /graphql: EIP-1767's schema (as geth and Besu serve it) plus the ledger's types.

Resolvers go through the JSON-RPC method table, so a block or transfer is serialized once
(node/rpc/serialize.py) whichever API asks for it.
"""
