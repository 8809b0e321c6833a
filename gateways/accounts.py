"""Resolving the parties of a payment message to ledger account ids.

A message names accounts the way banks do (IBANs, proprietary account numbers, BICs), while the ledger
books against its own account ids. Customer accounts held here are keyed by their IBAN, so an IBAN
resolves to itself; everything else (nostro/vostro accounts of correspondents, internal GL accounts,
accounts named by a proprietary number) comes from an operator-maintained account map, a JSON object
{"identifier": "ledger account id"}. Keys are normalised the same way as message identifiers so that
"DE89 3704 0044 0532 0130 00" in the map matches "DE89370400440532013000" in a message.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from ledger.tx import MAX_ACCOUNT_ID_BYTES

LEDGER_ACCOUNT_ID = re.compile(r"^[A-Za-z0-9:_\-.]+$")


def normalise_key(identifier: str) -> str:
    """Upper case without spaces and without the leading '/' SWIFT puts before account numbers."""
    return identifier.strip().lstrip("/").replace(" ", "").upper()


def as_iban(identifier: str) -> str | None:
    """The compact IBAN if `identifier` is a valid one (checksum, country format), else None."""
    try:
        return IBAN(normalise_key(identifier)).compact
    except (SchwiftyException, ValueError):
        return None


def servicing_bic(identifier: str) -> str | None:
    """The BIC of the bank that keeps the account, when `identifier` is an IBAN whose bank code
    schwifty's bank registry knows (11 characters, branch XXX if the registry gives 8), else None.

    A statement's sender is that bank: deriving it beats a placeholder BIC in a bank's files."""
    iban = as_iban(identifier)
    if iban is None:
        return None
    try:
        bic = IBAN(iban).bic
    except (SchwiftyException, ValueError):
        return None
    if bic is None:
        return None
    text = str(bic)
    return text if len(text) == 11 else text + "XXX"


def is_ledger_account_id(value: str) -> bool:
    """What the ledger transaction codec accepts as an account id; checked early to name the map entry."""
    return bool(LEDGER_ACCOUNT_ID.fullmatch(value)) and len(value.encode()) <= MAX_ACCOUNT_ID_BYTES


def load_account_map(path: Path) -> dict[str, str]:
    """Read an account map file; ValueError naming the file and the entry when it is malformed."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ValueError(f"{path}: cannot read: {error.strerror or error}") from error
    except ValueError as error:
        raise ValueError(f"{path}: not JSON: {error}") from error
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: must be a JSON object mapping identifiers to ledger account ids")
    mapping: dict[str, str] = {}
    for key, value in raw.items():
        if not isinstance(value, str) or not is_ledger_account_id(value):
            raise ValueError(f"{path}: {key!r} maps to {value!r}, which is not a ledger account id")
        mapping[normalise_key(key)] = value
    return mapping


def resolve(candidates: list[str | None], account_map: dict[str, str] | None) -> str | None:
    """The ledger account for a party, given its identifiers from most to least specific.

    The map wins over everything (an operator mapping an IBAN or a correspondent's BIC to a nostro
    account means it); failing that, the first valid IBAN is the account id itself.
    """
    present = [c for c in candidates if c and normalise_key(c)]
    mapping = {normalise_key(k): v for k, v in (account_map or {}).items()}
    for candidate in present:
        key = normalise_key(candidate)
        if key in mapping:
            return mapping[key]
        iban = as_iban(candidate)
        if iban is not None and iban in mapping:
            return mapping[iban]
    for candidate in present:
        iban = as_iban(candidate)
        if iban is not None:
            return iban
    return None
