"""Seal a message's personal data and hand the envelope to the node before its payments are booked.

Used by every way a gateway books (`qenex gateway submit`, the REST service, the drop folder) through
`Submitter(..., sealer=...)`: the order is seal -> `qenex_putPersonalData` -> sign and send the
payments. If sealing or delivery fails the payments are not booked, because a payment whose
customer data reached nobody could not be answered or investigated by the receiving bank; the
error says why (no key for any party bank, the node refused the envelope and its rule).

The put request is signed with the gateway's own key (the key that signs the payments), which must
hold the gateway or operator role over the debited account: every node checks that on its own copy
of the chain (node/pii/request.py says why a signature rather than an RPC credential).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from gateways import messages
from gateways.booking import PaymentInstruction
from gateways.personal_data import PersonalDataError, Vault, extract, load_public_key, seal
from ledger.hashing import keccak
from node.pii.request import sign_request
from node.rpc.client import RpcCallError, RpcClient

BIC = re.compile(r"^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$")


def party_banks(data: bytes, keys: Path) -> list[str]:
    """BIC8s named anywhere in the message that have a public key in `keys`."""
    found: set[str] = set()
    stack: list[object] = [messages.parse(data)]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str) and BIC.fullmatch(value):
            found.add(value[:8])
    return sorted(bank for bank in found if (keys / f"{bank}.pub").exists())


@dataclass(frozen=True, slots=True)
class Sealer:
    """Party banks come from the message's BICs that have a `<BIC8>.pub` in `keys`, or `banks`."""

    keys: Path
    banks: tuple[str, ...] = ()
    vault: Path | None = None  # also keep a local copy (the pre-node form of `gateway submit --pii-vault`)

    def __call__(self, client: RpcClient, key: bytes, chain_id: int, data: bytes,
                 payments: list[PaymentInstruction]) -> dict | None:  # fmt: skip
        """Deliver the envelope (None: the message carries no personal data); PersonalDataError if it cannot."""
        fields = extract(data)
        if not fields or not payments:
            return None
        chosen = list(self.banks) or party_banks(data, self.keys)
        if not chosen:
            raise PersonalDataError(f"no party bank of this message has a public key in {self.keys}; give --pii-banks")
        message_hash = keccak(data)
        envelope = seal(fields, message_hash, {bank: load_public_key(self.keys, bank) for bank in chosen})
        request = sign_request(envelope, payments[0].debit_account_id, chain_id, key)
        try:
            answer = client.call("qenex_putPersonalData", request)
        except RpcCallError as error:
            rule = error.data.get("rule") if isinstance(error.data, dict) else None
            if rule != "exists":  # "exists": delivered before (a message submitted again): nothing to do
                raise PersonalDataError(f"the node refused the sealed personal data: {error}") from None
            answer = {"messageHash": "0x" + message_hash.hex(), "stored": False, "banks": sorted(chosen)}
        if self.vault is not None:
            answer["vault"] = str(Vault(self.vault).put(envelope))
        return answer
