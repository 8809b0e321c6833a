"""Names of the files in a node's home directory.

A module of its own so that code which only needs a file's name (secret-file checks, the CLI)
does not import the genesis builder and what it pulls in."""

GENESIS_FILE = "genesis.json"
VALIDATOR_KEY_FILE = "validator.key"
DEV_ACCOUNTS_FILE = "dev-accounts.json"
COMPLIANCE_KEY_FILE = "compliance.key"
P2P_KEY_FILE = "p2p-key.pem"
NODE_CONFIG_FILE = "node.json"
