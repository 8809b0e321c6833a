"""Field formats of the SWIFT MT standard (character sets, line limits, dates, amounts, BICs, parties).

Each checker returns the Problems of one field value; the message modules decide which fields exist.
Amounts are Decimal and never float: a payment instruction must not lose a cent to binary rounding,
and an amount may not carry more decimals than its currency has (SWIFT error T43).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from decimal import Decimal

from gateways.problems import Problem
from ledger.currency import ISO_4217_EXPONENTS

Checker = Callable[[str, str], list[Problem]]

# SWIFT character set X (line ends are the LF between lines).
X_CHARS = re.compile(r"[A-Za-z0-9/\-?:().,'+ ]*")
BIC = re.compile(r"[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?")
AMOUNT = re.compile(r"([0-9]+),([0-9]*)")
CHARGE_CODES = ("OUR", "SHA", "BEN")
BANK_OPERATION_CODES = ("CRED", "CRTS", "SPAY", "SPRI", "SSTD")


def lines(tag: str, value: str, count: int, width: int) -> list[Problem]:
    """`count*width x`: at most `count` lines of at most `width` characters of set X."""
    problems: list[Problem] = []
    parts = value.split("\n")
    if len(parts) > count:
        problems.append(Problem(tag, "T26 lines", f"{len(parts)} lines, at most {count} allowed"))
    for number, line in enumerate(parts, 1):
        if len(line) > width:
            problems.append(Problem(tag, "T26 line length", f"line {number} has {len(line)} > {width} characters"))
        if not X_CHARS.fullmatch(line):
            bad = sorted({c for c in line if not X_CHARS.fullmatch(c)})
            problems.append(Problem(tag, "T26 character set X", f"line {number} has {''.join(bad)!r}"))
    return problems


def reference(tag: str, value: str) -> list[Problem]:
    """16x reference: no leading/trailing '/' and no '//' (T26)."""
    problems = lines(tag, value, 1, 16)
    if not value:
        problems.append(Problem(tag, "T26", "empty reference"))
    if value.startswith("/") or value.endswith("/") or "//" in value:
        problems.append(Problem(tag, "T26", f"reference {value!r} starts/ends with '/' or contains '//'"))
    return problems


def parse_date(text: str) -> datetime.date | None:
    """YYMMDD; SWIFT years 80-99 are 19xx, the rest 20xx."""
    if not re.fullmatch(r"[0-9]{6}", text):
        return None
    year = int(text[:2])
    try:
        return datetime.date(1900 + year if year >= 80 else 2000 + year, int(text[2:4]), int(text[4:6]))
    except ValueError:
        return None


def parse_amount(text: str) -> Decimal | None:
    """SWIFT `15d`: digits, one mandatory decimal comma, at most 15 characters."""
    match = AMOUNT.fullmatch(text)
    if not match or len(text) > 15:
        return None
    return Decimal(f"{match.group(1)}.{match.group(2) or '0'}")


def currency_amount(tag: str, currency: str, amount: str) -> list[Problem]:
    """3!a15d: a known ISO 4217 code and an amount with no more decimals than it has."""
    problems: list[Problem] = []
    if currency not in ISO_4217_EXPONENTS:
        problems.append(Problem(tag, "T52 currency", f"{currency!r} is not an ISO 4217 code known to the node"))
    value = parse_amount(amount)
    if value is None:
        problems.append(Problem(tag, "T40 amount", f"{amount!r} is not 15d (digits, one decimal comma)"))
    elif currency in ISO_4217_EXPONENTS and len(amount.split(",")[1]) > ISO_4217_EXPONENTS[currency]:
        decimals = len(amount.split(",")[1])
        exponent = ISO_4217_EXPONENTS[currency]
        problems.append(Problem(tag, "C03 decimals", f"{amount} has {decimals} decimals but {currency} has {exponent}"))
    return problems


def date_currency_amount(tag: str, value: str) -> list[Problem]:
    """32A: 6!n3!a15d (value date, currency, amount)."""
    match = re.fullmatch(r"([0-9]{6})([A-Z]{3})(.*)", value)
    if not match:
        return [Problem(tag, "T50/T52", f"{value!r} is not 6!n3!a15d")]
    problems = [] if parse_date(match.group(1)) else [Problem(tag, "T50 date", f"{match.group(1)} is no YYMMDD date")]
    return problems + currency_amount(tag, match.group(2), match.group(3))


def plain_currency_amount(tag: str, value: str) -> list[Problem]:
    """33B, 71F, 71G: 3!a15d."""
    match = re.fullmatch(r"([A-Z]{3})(.*)", value)
    if not match:
        return [Problem(tag, "T52", f"{value!r} is not 3!a15d")]
    return currency_amount(tag, match.group(1), match.group(2))


def exchange_rate(tag: str, value: str) -> list[Problem]:
    """36: 12d."""
    if parse_amount(value) is None or len(value) > 12:
        return [Problem(tag, "T40 rate", f"{value!r} is not 12d")]
    return []


def code(allowed: tuple[str, ...]) -> Checker:
    def check(tag: str, value: str) -> list[Problem]:
        return [] if value in allowed else [Problem(tag, "T18 code", f"{value!r} not one of {'/'.join(allowed)}")]

    return check


def instruction_code(tag: str, value: str) -> list[Problem]:
    """23E: 4!c[/30x]."""
    if not re.fullmatch(r"[A-Z0-9]{4}(/[^\n]{1,30})?", value):
        return [Problem(tag, "T26", f"{value!r} is not 4!c[/30x]")]
    return lines(tag, value, 1, 35)


def time_indication(tag: str, value: str) -> list[Problem]:
    """13C: /8c/4!n1!x4!n."""
    if not re.fullmatch(r"/[A-Z0-9]{1,8}/[0-9]{4}[+-][0-9]{4}", value):
        return [Problem(tag, "T26", f"{value!r} is not /8c/4!n1!x4!n")]
    return []


def _account_line(tag: str, line: str, identifier: bool) -> list[Problem]:
    """[/1!a][/34x] (with identifier) or /34x: the party identifier line of a party field."""
    pattern = r"(/[A-Z])?/[^\n]{1,34}" if identifier else r"/[^\n]{1,34}"
    if not re.fullmatch(pattern, line):
        return [Problem(tag, "T26 account", f"{line!r} is not a party identifier line")]
    return lines(tag, line, 1, 37)


def bic(tag: str, text: str) -> list[Problem]:
    if not BIC.fullmatch(text):
        return [Problem(tag, "T27 BIC", f"{text!r} is not a BIC (4!a2!a2!c[3!c])")]
    return []


def option_a(identifier: bool) -> Checker:
    """Option A: [party identifier line] then BIC."""

    def check(tag: str, value: str) -> list[Problem]:
        parts = value.split("\n")
        if len(parts) > 2:
            return [Problem(tag, "T26", f"option A has {len(parts)} lines, at most 2")]
        problems = _account_line(tag, parts[0], identifier) if len(parts) == 2 else []
        return problems + bic(tag, parts[-1])

    return check


def option_name(identifier: bool, count: int = 4) -> Checker:
    """Options D/K/59: [party identifier line] then up to 4*35x name and address."""

    def check(tag: str, value: str) -> list[Problem]:
        parts = value.split("\n")
        problems: list[Problem] = []
        if parts[0].startswith("/") and len(parts) > 1:
            problems += _account_line(tag, parts[0], identifier)
            parts = parts[1:]
        return problems + lines(tag, "\n".join(parts), count, 35)

    return check


def option_b(tag: str, value: str) -> list[Problem]:
    """Option B: [/1!a][/34x] and/or [35x] location."""
    parts = value.split("\n")
    problems = _account_line(tag, parts[0], True) if parts[0].startswith("/") else []
    return problems + lines(tag, "\n".join(parts[1:] if parts[0].startswith("/") else parts), 1, 35)


def option_c(tag: str, value: str) -> list[Problem]:
    """Option C: /34x party identifier only (e.g. a clearing code //FW021000018)."""
    return _account_line(tag, value, False)


def option_f(tag: str, value: str) -> list[Problem]:
    """50F/59F: 35x party identifier, then up to 4 numbered lines 1!n/33x."""
    parts = value.split("\n")
    problems = lines(tag, parts[0], 1, 35)
    if len(parts) > 5:
        problems.append(Problem(tag, "T26", f"option F has {len(parts)} lines, at most 5"))
    for line in parts[1:]:
        if not re.fullmatch(r"[1-8]/.{1,33}", line):
            problems.append(Problem(tag, "T54", f"{line!r} is not 1!n/33x"))
        else:
            problems += lines(tag, line, 1, 35)
    return problems


def balance(tag: str, value: str) -> list[Problem]:
    """60F/60M/62F/62M/64/65: 1!a6!n3!a15d (D/C mark, date, currency, amount)."""
    match = re.fullmatch(r"([CD])([0-9]{6})([A-Z]{3})(.*)", value)
    if not match:
        return [Problem(tag, "T51", f"{value!r} is not 1!a6!n3!a15d")]
    problems = [] if parse_date(match.group(2)) else [Problem(tag, "T50 date", f"{match.group(2)} is no date")]
    return problems + currency_amount(tag, match.group(3), match.group(4))


STATEMENT_LINE = re.compile(
    r"(?P<value_date>[0-9]{6})(?P<entry_date>[0-9]{4})?(?P<mark>RC|RD|C|D)(?P<funds>[A-Z])?"
    r"(?P<amount>[0-9]+,[0-9]*)(?P<type>[SNF][A-Z0-9]{3})(?P<reference>[^\n]*?)(?://(?P<bank_reference>[^\n]*))?"
    r"(?:\n(?P<details>.*))?",
    re.DOTALL,
)


def statement_line(tag: str, value: str) -> list[Problem]:
    """61: 6!n[4!n]2a[1!a]15d1!a3!c16x[//16x][34x]."""
    match = STATEMENT_LINE.fullmatch(value)
    if not match:
        return [Problem(tag, "T26 statement line", f"{value.splitlines()[0] if value else ''!r} is not a :61: line")]
    problems: list[Problem] = []
    if parse_date(match["value_date"]) is None:
        problems.append(Problem(tag, "T50 date", f"value date {match['value_date']} is no date"))
    if len(match["amount"]) > 15:
        problems.append(Problem(tag, "T40 amount", f"{match['amount']} is longer than 15d"))
    if len(match["reference"]) > 16 or not match["reference"]:
        problems.append(Problem(tag, "T26 reference", f"{match['reference']!r} is not 16x"))
    if match["bank_reference"] is not None and len(match["bank_reference"]) > 16:
        problems.append(Problem(tag, "T26 reference", f"bank reference {match['bank_reference']!r} > 16"))
    if match["details"] is not None:
        problems += lines(tag, match["details"], 1, 34)
    return problems + lines(tag, value.split("\n")[0], 1, 80)


def statement_number(tag: str, value: str) -> list[Problem]:
    """28C: 5n[/5n]."""
    if re.fullmatch(r"[0-9]{1,5}(/[0-9]{1,5})?", value):
        return []
    return [Problem(tag, "T40", f"{value!r} is not 5n[/5n]")]


def text(count: int, width: int) -> Checker:
    def check(tag: str, value: str) -> list[Problem]:
        return lines(tag, value, count, width)

    return check


# Party options per letter; 52/53/54/55/56/57/58 use identifier lines [/1!a][/34x].
PARTY_A = option_a(identifier=True)
PARTY_D = option_name(identifier=True)

CHECKERS: dict[str, Checker] = {
    "13C": time_indication,
    "20": reference,
    "21": reference,
    "23B": code(BANK_OPERATION_CODES),
    "23E": instruction_code,
    "25": text(1, 35),
    "25P": text(2, 35),
    "26T": text(1, 3),
    "28C": statement_number,
    "32A": date_currency_amount,
    "33B": plain_currency_amount,
    "36": exchange_rate,
    "50A": option_a(identifier=False),
    "50F": option_f,
    "50K": option_name(identifier=False),
    "51A": PARTY_A,
    "52A": PARTY_A,
    "52D": PARTY_D,
    "53A": PARTY_A,
    "53B": option_b,
    "53D": PARTY_D,
    "54A": PARTY_A,
    "54B": option_b,
    "54D": PARTY_D,
    "55A": PARTY_A,
    "55B": option_b,
    "55D": PARTY_D,
    "56A": PARTY_A,
    "56C": option_c,
    "56D": PARTY_D,
    "57A": PARTY_A,
    "57B": option_b,
    "57C": option_c,
    "57D": PARTY_D,
    "58A": PARTY_A,
    "58D": PARTY_D,
    "59": option_name(identifier=False),
    "59A": option_a(identifier=False),
    "59F": option_f,
    "60F": balance,
    "60M": balance,
    "61": statement_line,
    "62F": balance,
    "62M": balance,
    "64": balance,
    "65": balance,
    "70": text(4, 35),
    "71A": code(CHARGE_CODES),
    "71F": plain_currency_amount,
    "71G": plain_currency_amount,
    "72": text(6, 35),
    "77B": text(3, 35),
    "77T": text(1, 9000),
    "86": text(6, 65),
}


def check_field(tag: str, value: str) -> list[Problem]:
    """The format problems of one field, path ':TAG:'."""
    checker = CHECKERS.get(tag)
    return checker(f":{tag}:", value) if checker else []


def party(tag: str, value: str) -> dict[str, object]:
    """A party field as canonical data: option, account/identifier, BIC, name and address lines."""
    parts = value.split("\n")
    result: dict[str, object] = {"option": tag[2:] or "no letter"}
    if (len(parts) > 1 and parts[0].startswith("/")) or tag.endswith("C"):
        result["account"] = parts[0]
        parts = parts[1:]
    elif tag.endswith("F"):
        result["identifier"] = parts[0]
        parts = parts[1:]
    if tag.endswith("A") and parts:
        result["bic"] = parts[-1]
    elif parts:
        result["name_address"] = parts
    return result
