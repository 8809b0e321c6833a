"""Who may debit an account: its owner, or a holder of a role whose namespace covers it.

A member bank's operator key may move money on its customers' accounts (as core banking does
today); a gateway key may debit the accounts of the bank it serves. The grants live on chain
(genesis now, governance later) so every validator authorises identically.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from ledger.account import ADDRESS_PATTERN, Account
from ledger.errors import InvalidAccountError, UnauthorizedDebitError

ROLES = ("governor", "validator", "operator", "gateway", "compliance", "auditor")
# Roles whose holders may sign debits of accounts in their namespace.
DEBITING_ROLES = frozenset({"operator", "gateway"})


@dataclass(frozen=True, slots=True)
class RoleGrant:
    """`holder` has `role` over the accounts `namespace` covers.

    Namespaces: "*" (every account), "prefix:GL:BANKA:" (ids starting so), or
    "iban:DE:37040044" (IBANs of that country and national bank code).
    """

    role: str
    holder: str
    namespace: str = "*"

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise InvalidAccountError(f"role {self.role!r} is not one of {', '.join(ROLES)}")
        if not ADDRESS_PATTERN.fullmatch(self.holder):
            raise InvalidAccountError(f"role {self.role}: holder {self.holder!r} is not a 0x address")
        kind = self.namespace.split(":", 1)[0]
        if self.namespace != "*" and kind not in ("prefix", "iban"):
            raise InvalidAccountError(f"namespace {self.namespace!r} must be '*', 'prefix:...' or 'iban:CC:BANKCODE'")
        if (kind == "prefix" and not self.namespace.removeprefix("prefix:").strip()) or self.namespace == "prefix":
            raise InvalidAccountError(f"namespace {self.namespace!r} needs a non-empty id prefix after 'prefix:'")
        if kind == "iban" and len(self.namespace.split(":")) != 3:
            raise InvalidAccountError(f"namespace {self.namespace!r} must be 'iban:<country>:<bank code>'")

    def covers(self, account_id: str) -> bool:
        if self.namespace == "*":
            return True
        kind, _, rest = self.namespace.partition(":")
        if kind == "prefix":
            return account_id.startswith(rest)
        country, _, bank_code = rest.partition(":")
        if not account_id.startswith(country):
            return False
        try:
            return IBAN(account_id).bank_code == bank_code
        except SchwiftyException:
            return False


def may_debit(signer: str, account: Account, grants: Iterable[RoleGrant]) -> bool:
    signer_lower = signer.lower()
    if account.owner.lower() == signer_lower:
        return True
    return any(
        grant.role in DEBITING_ROLES and grant.holder.lower() == signer_lower and grant.covers(account.id)
        for grant in grants
    )


def authorize_debit(signer: str, account: Account, grants: Iterable[RoleGrant]) -> None:
    if not may_debit(signer, account, grants):
        raise UnauthorizedDebitError(
            f"{signer} may not debit account {account.id}: it is neither the owner ({account.owner}) "
            f"nor holds an operator/gateway role covering it"
        )
