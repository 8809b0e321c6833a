"""Genesis: the chain's first state (currencies, accounts, validators, roles, parameters)."""
