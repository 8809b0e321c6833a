"""The EVM <-> ledger bridge: contracts move ledger money, wallets see it as ERC-20 tokens.

addresses.py  the fixed bridge address, each currency's token address, address -> ledger account
layers.py     ledger overlays that follow py-evm's snapshots, so a reverted call undoes its postings
precompiles.py the bridge and ERC-20 precompiled contracts (Python, run by py-evm)
state.py      the py-evm state class with those precompiles and the ledger layers wired in
"""
