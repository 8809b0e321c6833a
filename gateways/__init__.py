"""Gateways to legacy rails: SWIFT MT (gateways/swift) and ISO 20022 (gateways/iso20022) messages
validated and parsed, and MT103 / pacs.008 / pain.001 payments booked as signed ledger
transactions (gateways/booking.py, `qenex gateway submit`). Statements out, SEPA rules,
conversion and the gateway service are the rest of issue #5."""
