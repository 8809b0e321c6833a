"""Decimal text <-> integer minor units: exact, and strict about what it accepts."""

from __future__ import annotations

from decimal import Context, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.currency import AMOUNT_MAX, ISO_4217_EXPONENTS, MAX_EXPONENT, Currency, format_amount, parse_amount
from ledger.errors import InvalidAmountError, UnknownCurrencyError

_WIDE = Context(prec=80)


@pytest.mark.parametrize(
    ("text", "exponent", "expected"),
    [
        ("12.34", 2, 1234),
        ("0.1", 2, 10),
        ("0.01", 2, 1),
        ("0.10", 2, 10),
        ("5", 2, 500),
        ("100", 0, 100),
        ("1.5", 3, 1500),
        ("0.000000000000000001", 18, 1),
        (" 7.5 ", 2, 750),
        # More than the 28 significant digits of Decimal's default context: still exact.
        ("12345678901234567890123456789.01", 2, 1234567890123456789012345678901),
        ("3402823669209384634633746074317682114.55", 2, AMOUNT_MAX),
        (str(AMOUNT_MAX), 0, AMOUNT_MAX),
    ],
)
def test_parse_amount_is_exact(text, exponent, expected):
    assert parse_amount(text, exponent) == expected


@pytest.mark.parametrize(
    ("text", "exponent"),
    [
        ("1.234", 2),  # more decimals than the currency has
        ("1.5", 0),
        ("-1", 2),
        ("-0.01", 2),
        ("+1", 2),
        ("0", 2),
        ("0.00", 2),
        ("1e3", 2),
        ("1E3", 2),
        ("01", 2),
        ("1.", 2),
        (".5", 2),
        ("1,50", 2),
        ("", 2),
        ("NaN", 2),
        ("Infinity", 2),
        ("1 000", 2),
        ("١٢", 2),  # Arabic-Indic digits: Decimal accepts them, a bank must not
        ("3402823669209384634633746074317682114.56", 2),  # AMOUNT_MAX + 1
        (str(2**128), 0),
        ("1" + "0" * 39, 0),  # 40 digits
    ],
)
def test_parse_amount_rejects(text, exponent):
    with pytest.raises(InvalidAmountError) as excinfo:
        parse_amount(text, exponent)
    assert excinfo.value.rule == "invalid_amount"


def test_parse_amount_overflow_names_the_limit():
    with pytest.raises(InvalidAmountError, match="exceeds the largest amount"):
        parse_amount(str(AMOUNT_MAX + 1), 0)


def test_parse_amount_too_many_decimals_names_the_currency():
    with pytest.raises(InvalidAmountError, match="3 decimals but EUR has 2"):
        parse_amount("1.234", 2, "EUR")


@pytest.mark.parametrize("value", [1.5, 12, Decimal("12.34"), b"12.34", None, 0.1])
def test_parse_amount_refuses_non_text(value):
    with pytest.raises(InvalidAmountError, match="must be decimal text"):
        parse_amount(value, 2)


@pytest.mark.parametrize(
    ("amount", "exponent", "text"),
    [(1234, 2, "12.34"), (5, 2, "0.05"), (-5, 2, "-0.05"), (100, 0, "100"), (0, 2, "0.00"), (-1234, 3, "-1.234")],
)
def test_format_amount(amount, exponent, text):
    assert format_amount(amount, exponent) == text


@given(st.integers(min_value=1, max_value=AMOUNT_MAX), st.integers(min_value=0, max_value=MAX_EXPONENT))
def test_format_then_parse_round_trips(amount, exponent):
    assert parse_amount(format_amount(amount, exponent), exponent) == amount


@given(st.integers(min_value=1, max_value=AMOUNT_MAX), st.integers(min_value=0, max_value=MAX_EXPONENT))
def test_format_agrees_with_decimal(amount, exponent):
    assert Decimal(format_amount(amount, exponent)) == Decimal(amount).scaleb(-exponent, context=_WIDE)


def test_currency_iso_and_parse_format():
    eur, jpy, kwd = Currency.iso("EUR"), Currency.iso("JPY"), Currency.iso("KWD")
    assert (eur.exponent, jpy.exponent, kwd.exponent) == (2, 0, 3)
    assert eur.parse("12.34") == 1234
    assert jpy.parse("1234") == 1234
    assert kwd.format(1234) == "1.234"
    with pytest.raises(InvalidAmountError, match="JPY"):
        jpy.parse("12.3")


def test_iso_table_exponents_are_in_range():
    assert all(0 <= e <= MAX_EXPONENT for e in ISO_4217_EXPONENTS.values())


@pytest.mark.parametrize("code", ["XXX", "eur", "EURO"])
def test_currency_iso_rejects_unknown_codes(code):
    with pytest.raises(UnknownCurrencyError):
        Currency.iso(code)


@pytest.mark.parametrize(("code", "exponent"), [("eur", 2), ("EU", 2), ("E1R", 2), ("TOK", 19), ("TOK", -1)])
def test_currency_rejects_bad_definitions(code, exponent):
    with pytest.raises(UnknownCurrencyError):
        Currency(code, exponent)


def test_currency_allows_non_iso_codes_with_own_exponent():
    assert Currency("TOK", 18).parse("1") == 10**18
