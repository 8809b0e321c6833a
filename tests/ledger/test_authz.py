"""Who may debit an account: its owner, or an operator/gateway whose namespace covers it."""

from __future__ import annotations

import pytest

from ledger.account import Account
from ledger.authz import DEBITING_ROLES, ROLES, RoleGrant, authorize_debit, may_debit
from ledger.errors import InvalidAccountError, UnauthorizedDebitError

OWNER = "0x" + "aa" * 20
OPERATOR = "0x" + "bb" * 20
STRANGER = "0x" + "cc" * 20

COMMERZ = "DE89370400440532013000"  # bank code 37040044
OTHER_DE_BANK = "DE44500105175407324931"  # bank code 50010517
UK = "GB82WEST12345698765432"  # bank code WEST


def account(account_id: str, owner: str = OWNER) -> Account:
    return Account(account_id, "EUR", owner)


@pytest.mark.parametrize(
    ("namespace", "account_id", "covered"),
    [
        ("*", COMMERZ, True),
        ("*", "GL:BANKA:CASH", True),
        ("prefix:GL:BANKA:", "GL:BANKA:CASH", True),
        ("prefix:GL:BANKA:", "GL:BANKA:FX:EUR", True),
        ("prefix:GL:BANKA:", "GL:BANKB:CASH", False),
        ("prefix:GL:BANKA:", "GL:BANKAB:CASH", False),  # the separator is part of the prefix
        ("prefix:GL:BANKA:", COMMERZ, False),
        ("iban:DE:37040044", COMMERZ, True),
        ("iban:DE:37040044", OTHER_DE_BANK, False),
        ("iban:DE:37040044", UK, False),
        ("iban:DE:37040044", "GL:BANKA:CASH", False),
        ("iban:DE:37040044", "DE00370400440532013000", False),  # bad check digits: not an IBAN at all
        ("iban:GB:WEST", UK, True),
        ("iban:FR:WEST", UK, False),  # the country must match as well as the bank code
    ],
)
def test_namespaces_cover(namespace, account_id, covered):
    assert RoleGrant("operator", OPERATOR, namespace).covers(account_id) is covered


@pytest.mark.parametrize(
    ("role", "holder", "namespace"),
    [
        ("king", OPERATOR, "*"),
        ("operator", "0x1234", "*"),
        ("operator", "bb" * 20, "*"),
        ("operator", OPERATOR, ""),
        ("operator", OPERATOR, "GL:BANKA:"),
        ("operator", OPERATOR, "regex:.*"),
        ("operator", OPERATOR, "iban:DE"),
        ("operator", OPERATOR, "iban:DE:370:400"),
        ("operator", OPERATOR, "prefix:"),  # an empty prefix would silently cover every account
        ("operator", OPERATOR, "prefix"),
    ],
)
def test_malformed_grants_are_rejected(role, holder, namespace):
    with pytest.raises(InvalidAccountError):
        RoleGrant(role, holder, namespace)


def test_every_role_can_be_granted():
    for role in ROLES:
        assert RoleGrant(role, OPERATOR).role == role


def test_owner_may_debit_without_grants():
    assert may_debit(OWNER, account(COMMERZ), [])
    assert may_debit(OWNER.upper().replace("0X", "0x"), account(COMMERZ), [])  # address case does not matter
    authorize_debit(OWNER, account(COMMERZ), [])


def test_stranger_may_not_debit():
    assert not may_debit(STRANGER, account(COMMERZ), [RoleGrant("operator", OPERATOR, "*")])
    with pytest.raises(UnauthorizedDebitError) as raised:
        authorize_debit(STRANGER, account(COMMERZ), [RoleGrant("operator", OPERATOR, "*")])
    assert raised.value.rule == "unauthorized_debit"
    assert COMMERZ in raised.value.message and STRANGER in raised.value.message


@pytest.mark.parametrize("role", sorted(DEBITING_ROLES))
def test_debiting_roles_may_debit_what_they_cover(role):
    grants = [RoleGrant(role, OPERATOR, "iban:DE:37040044")]
    assert may_debit(OPERATOR, account(COMMERZ), grants)
    assert may_debit(OPERATOR.upper().replace("0X", "0x"), account(COMMERZ), grants)
    authorize_debit(OPERATOR, account(COMMERZ), grants)
    assert not may_debit(OPERATOR, account(OTHER_DE_BANK), grants)
    with pytest.raises(UnauthorizedDebitError):
        authorize_debit(OPERATOR, account(OTHER_DE_BANK), grants)


@pytest.mark.parametrize("role", sorted(set(ROLES) - DEBITING_ROLES))
def test_other_roles_may_not_debit(role):
    grants = [RoleGrant(role, OPERATOR, "*")]
    assert not may_debit(OPERATOR, account(COMMERZ), grants)
    with pytest.raises(UnauthorizedDebitError):
        authorize_debit(OPERATOR, account(COMMERZ), grants)


def test_grants_belong_to_their_holder():
    grants = [RoleGrant("operator", STRANGER, "*")]
    assert not may_debit(OPERATOR, account("GL:BANKA:CASH"), grants)


def test_any_covering_grant_suffices():
    grants = [
        RoleGrant("auditor", OPERATOR, "*"),
        RoleGrant("operator", OPERATOR, "prefix:GL:BANKB:"),
        RoleGrant("gateway", OPERATOR, "prefix:GL:BANKA:"),
    ]
    assert may_debit(OPERATOR, account("GL:BANKA:CASH"), grants)
    assert may_debit(OPERATOR, account("GL:BANKB:CASH"), grants)
    assert not may_debit(OPERATOR, account("GL:BANKC:CASH"), grants)


def test_grants_may_be_any_iterable():
    grants = (g for g in [RoleGrant("gateway", OPERATOR, "prefix:GL:")])
    assert may_debit(OPERATOR, account("GL:BANKA:CASH"), grants)
