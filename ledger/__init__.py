"""The double-entry ledger: accounts, transfers, postings and their LevelDB store.

Modelled on TigerBeetle's accounts/transfers model. Money is an integer number of minor
units; every transfer debits one account and credits another of the same currency, so each
currency sums to zero across all accounts. This package knows nothing of consensus, the EVM
or gateways.
"""
