"""Ethereum transactions executed by py-evm beside the ledger, with state in the node's LevelDB.

db.py         py-evm's key-value interface over the node's LevelDB (key prefix b"E")
transaction.py decoding Ethereum transactions and the admission rules, with geth's messages
executor.py   one block's EVM state: apply transactions, receipts, logs, bloom, commit
genesis.py    the genesis allocation (native coin balances, code) and the fee settings
"""
