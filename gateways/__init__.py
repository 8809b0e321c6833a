"""Gateways to legacy rails: SWIFT MT (gateways/swift) and ISO 20022 (gateways/iso20022) messages
validated and parsed today; turning them into signed ledger transactions, statements out, SEPA
rules and the gateway service are the rest of issue #5."""
