"""Personal data of payment messages, delivered in band between the consortium's nodes.

The gateway seals a message's names, addresses and remittance text for the party banks
(gateways/personal_data.py) and hands the sealed envelope to its node (`qenex_putPersonalData`,
request.py); every node keeps the ciphertext in HOME/personal-data/ (store.py) and passes it to its
peers over the P2P transport (service.py); any node serves it by message hash to an authenticated
caller (`qenex_getPersonalData`); only a party bank's private key opens it. Erasure is a chain
action (erasure.py): when its block commits, every node crypto-shreds its copy and refuses it again.
"""
