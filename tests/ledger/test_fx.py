"""Currency conversion: exact half-even conversion and the linked pair of transfers it books."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.account import Account, AccountFlags
from ledger.apply import BookingContext, TransferRejected, apply_batch, apply_transfers
from ledger.errors import FxRateError
from ledger.fx import check_fx_pairs, convert, fx_legs, parse_rate
from ledger.state import Overlay
from ledger.transfer import Transfer, TransferFlags

OWNER = "0x" + "33" * 20
CURRENCIES = {"EUR": 2, "USD": 2, "JPY": 0, "KWD": 3}
CTX = BookingContext(block_number=1, timestamp=1_700_000_000, tx_hash=b"\x01" * 32, currencies=CURRENCIES)

CUSTOMER = "DE89370400440532013000"
FX_EUR = "GL:BANKA:FX:EUR"
FX_USD = "GL:BANKA:FX:USD"
BENEFICIARY = "GL:BANKB:CLIENT:USD"


class MemoryLedger:
    def __init__(self, accounts: list[Account]) -> None:
        self.accounts = {a.id: a for a in accounts}

    def account(self, account_id):
        return self.accounts.get(account_id)

    def transfer(self, transfer_id):
        return None

    def record(self, key):
        return None  # no chain records (account controls, grants) here

    def nonce(self, address):
        return 0


@pytest.fixture
def state() -> Overlay:
    return Overlay(
        MemoryLedger(
            [
                Account(
                    CUSTOMER, "EUR", OWNER, flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS, credits_posted=100_000
                ),
                Account(FX_EUR, "EUR", OWNER),
                Account(FX_USD, "USD", OWNER),
                Account(BENEFICIARY, "USD", OWNER),
            ]
        )
    )


def legs(amount: int = 10_000, rate: str = "1.0825") -> tuple[Transfer, Transfer]:
    return fx_legs((1, 2), (CUSTOMER, FX_EUR), (FX_USD, BENEFICIARY), amount, ("EUR", "USD"), (2, 2), rate)


# --- convert -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "source_exponent", "target_exponent", "rate", "expected"),
    [
        (10_000, 2, 2, "1.0825", 10_825),
        (1, 2, 2, "0.5", 0),  # 0.5 -> 0 (even)
        (3, 2, 2, "0.5", 2),  # 1.5 -> 2 (even)
        (5, 2, 2, "0.5", 2),  # 2.5 -> 2 (even)
        (7, 2, 2, "0.5", 4),  # 3.5 -> 4 (even)
        (9, 2, 2, "0.5", 4),  # 4.5 -> 4 (even)
        (1, 2, 2, "1.005", 1),
        (10_000, 2, 0, "161.5", 16_150),  # EUR -> JPY
        (1, 0, 2, "0.00619", 1),  # 0.619 cents
        (1, 0, 3, "0.0025", 2),  # JPY -> KWD: 2.5 fils -> 2
        (3, 0, 3, "0.0025", 8),  # 7.5 fils -> 8
        (2**128 - 1, 2, 2, "999999999999.999999999999", 340282366920938463463374267149401290516536536625393),
    ],
)
def test_convert_rounds_half_even(amount, source_exponent, target_exponent, rate, expected):
    assert convert(amount, source_exponent, target_exponent, rate) == expected


RATES = st.builds(
    lambda whole, fraction: f"{whole}.{fraction}" if fraction else str(whole),
    st.integers(0, 10**12 - 1),
    st.text("0123456789", max_size=12),
).filter(lambda text: Fraction(text) > 0)


@given(st.integers(0, 2**128 - 1), st.integers(0, 18), st.integers(0, 18), RATES)
def test_convert_equals_exact_rational_rounding(amount, source_exponent, target_exponent, rate):
    exact = Fraction(amount) * Fraction(rate) * Fraction(10) ** (target_exponent - source_exponent)
    assert convert(amount, source_exponent, target_exponent, rate) == round(exact)  # round() is half-even


@pytest.mark.parametrize(
    "rate", ["0", "0.0", "-1", "1e2", "", "abc", "01.5", "1.", ".5", "1.0000000000001", "1000000000000", " 1.1"]
)
def test_parse_rate_rejects(rate):
    with pytest.raises(FxRateError):
        parse_rate(rate)


def test_parse_rate_accepts_the_bounds():
    assert str(parse_rate("999999999999.999999999999")) == "999999999999.999999999999"
    assert str(parse_rate("0.000000000001")) == "1E-12"


# --- fx_legs and check_fx_pairs ----------------------------------------------------------------


def test_fx_legs_builds_a_linked_pair():
    first, second = legs()
    assert (first.debit_account_id, first.credit_account_id, first.amount, first.currency) == (
        CUSTOMER,
        FX_EUR,
        10_000,
        "EUR",
    )
    assert (second.debit_account_id, second.credit_account_id, second.amount, second.currency) == (
        FX_USD,
        BENEFICIARY,
        10_825,
        "USD",
    )
    assert first.is_linked and not second.is_linked
    assert first.fx_rate == second.fx_rate == "1.0825"
    check_fx_pairs([first, second], CURRENCIES)


def test_fx_pair_applies_as_one_transaction(state):
    apply_transfers(state, list(legs()), CTX)
    assert state.account(CUSTOMER).balance_posted == 90_000
    assert state.account(FX_EUR).balance_posted == 10_000
    assert state.account(FX_USD).balance_posted == -10_825
    assert state.account(BENEFICIARY).balance_posted == 10_825
    assert state.transfer(2).transfer.fx_rate == "1.0825"


def test_fx_pair_applies_in_a_batch_after_other_transfers(state):
    plain = Transfer(9, FX_EUR, CUSTOMER, 5, "EUR")
    results = apply_batch(state, [plain, *legs()], CTX)
    assert [r.error for r in results] == [None, None, None]
    assert state.account(BENEFICIARY).credits_posted == 10_825


def test_fx_legs_refuses_a_conversion_to_nothing():
    with pytest.raises(FxRateError):
        fx_legs((1, 2), (CUSTOMER, FX_EUR), (FX_USD, BENEFICIARY), 1, ("EUR", "USD"), (2, 2), "0.001")


@pytest.mark.parametrize(
    ("name", "breaking", "index"),
    [
        ("amount too large", lambda a, b: (a, dataclasses.replace(b, amount=b.amount + 1)), 1),
        ("amount too small", lambda a, b: (a, dataclasses.replace(b, amount=b.amount - 1)), 1),
        ("other rate on the second leg", lambda a, b: (a, dataclasses.replace(b, fx_rate="1.0826")), 1),
        ("rate missing on the second leg", lambda a, b: (a, dataclasses.replace(b, fx_rate="")), 1),
        ("unlinked", lambda a, b: (dataclasses.replace(a, flags=TransferFlags.NONE), b), 0),
        (
            "malformed rate",
            lambda a, b: (dataclasses.replace(a, fx_rate="1.08.25"), dataclasses.replace(b, fx_rate="1.08.25")),
            0,
        ),
    ],
)
def test_broken_pairs_are_rejected(state, name, breaking, index):
    transfers = list(breaking(*legs()))
    with pytest.raises(FxRateError):
        check_fx_pairs(transfers, CURRENCIES)
    with pytest.raises(TransferRejected) as rejected:
        apply_transfers(state, transfers, CTX)
    assert rejected.value.rule == "fx_rate_mismatch", name
    assert isinstance(rejected.value.cause, FxRateError)
    assert rejected.value.index == index
    assert (state.accounts, state.transfers) == ({}, {})


def test_same_currency_pair_is_rejected(state):
    first = Transfer(1, CUSTOMER, FX_EUR, 100, "EUR", flags=TransferFlags.LINKED, fx_rate="1.5")
    second = Transfer(2, FX_EUR, CUSTOMER, 150, "EUR", fx_rate="1.5")
    with pytest.raises(FxRateError, match="both legs"):
        check_fx_pairs([first, second], CURRENCIES)
    with pytest.raises(TransferRejected) as rejected:
        apply_transfers(state, [first, second], CTX)
    assert rejected.value.rule == "fx_rate_mismatch"
    assert (state.accounts, state.transfers) == ({}, {})


def test_rate_on_a_lone_last_transfer_is_rejected(state):
    lone = Transfer(1, CUSTOMER, FX_EUR, 100, "EUR", fx_rate="1.5")
    with pytest.raises(FxRateError, match="not linked"):
        check_fx_pairs([lone], CURRENCIES)
    with pytest.raises(TransferRejected) as rejected:
        apply_transfers(state, [lone], CTX)
    assert rejected.value.rule == "fx_rate_mismatch"


def test_pair_in_a_currency_not_on_the_chain_is_rejected():
    with pytest.raises(FxRateError, match="not on this chain"):
        check_fx_pairs(list(legs()), {"EUR": 2})


def test_broken_pair_fails_its_chain_in_a_batch_only(state):
    first, second = legs()
    broken = dataclasses.replace(second, amount=second.amount + 1)
    plain = Transfer(9, FX_EUR, CUSTOMER, 5, "EUR")
    results = apply_batch(state, [first, broken, plain], CTX)
    assert [None if r.error is None else r.error.rule for r in results] == [
        "linked_event_failed",
        "fx_rate_mismatch",
        None,
    ]
    assert set(state.transfers) == {9}
    assert state.account(BENEFICIARY) is not None
    assert state.account(BENEFICIARY).credits_posted == 0


def test_transfers_without_rates_pass_the_pair_check():
    check_fx_pairs([Transfer(1, CUSTOMER, FX_EUR, 1, "EUR"), Transfer(2, FX_EUR, CUSTOMER, 1, "EUR")], CURRENCIES)
