"""MT103 and MT202 network validated rules, one case that breaks each and one that keeps it."""

from __future__ import annotations

import pytest

from gateways.swift import validate

US_DE = "{1:F01BANKUS33AXXX0000000000}{2:I103BANKDEFFXXXXN}"
FR_DE = "{1:F01BANKFRPPAXXX0000000000}{2:I103BANKDEFFXXXXN}"


def rules_of(data: bytes) -> list[str]:
    return [p.rule for p in validate(data)]


def test_baseline_is_valid(make_mt103):
    assert validate(make_mt103()) == []


@pytest.mark.parametrize(
    ("fields", "rule", "path"),
    [
        ((":33B:EUR650,00",), "MT103 C1 (D75)", ":36:"),
        ((":33B:USD700,00", ":36:1,0"), "MT103 C1 (D75)", ":36:"),
        ((":36:1,0",), "MT103 C1 (D75)", ":36:"),
        ((":23B:SPRI", ":23E:CHQB"), "MT103 C3 (E01)", ":23E:"),
        ((":23B:SSTD", ":23E:SDVA"), "MT103 C3 (E02)", ":23E:"),
        ((":23B:SPAY", ":23E:SDVA"), "MT103 C3 (E02)", ":23E:"),
        ((":55A:BANKGB2L", ":57A:BANKGB2L"), "MT103 C4 (E06)", ":55a:"),
        ((":56A:CITIUS33",), "MT103 C5 (E81)", ":57a:"),
        ((":23B:SPRI", ":56A:CITIUS33", ":57A:CITIUS33"), "MT103 C6 (E16)", ":56A:"),
        ((":23B:SSTD", ":56D:SOME BANK", ":57A:CITIUS33"), "MT103 C6 (E17)", ":56D:"),
        ((":23B:SPAY", ":56C:/12345", ":57A:CITIUS33"), "MT103 C6 (E17)", ":56C:"),
        ((":71A:OUR", ":33B:USD700,00", ":71F:USD1,00"), "MT103 C7 (E13)", ":71F:"),
        ((":71A:SHA", ":33B:USD700,00", ":71G:USD1,00"), "MT103 C7 (D50)", ":71G:"),
        ((":71A:BEN",), "MT103 C7 (E15)", ":71F:"),
        ((":71A:BEN", ":33B:USD700,00", ":71F:USD1,00", ":71G:USD1,00"), "MT103 C7 (E15)", ":71G:"),
        ((":71A:SHA", ":71F:USD1,00"), "MT103 C8 (D51)", ":33B:"),
        ((":71A:OUR", ":33B:USD700,00", ":71G:EUR1,00"), "MT103 C9 (C02)", ":71G:"),
        ((":23E:TELI",), "MT103 C10 (E44)", ":23E:"),
        ((":23E:PHON",), "MT103 C10 (E45)", ":23E:"),
    ],
)
def test_mt103_rule_broken(make_mt103, fields, rule, path):
    problems = validate(make_mt103(*fields))
    assert any(p.rule == rule and p.path == path for p in problems), [p.line() for p in problems]


def test_c7_example_from_the_issue(make_mt103):
    problems = validate(make_mt103(":71A:OUR", ":33B:USD700,00", ":71F:USD1,00"))
    assert problems[0].line() == ":71F:: MT103 C7 (E13): 71F present with 71A OUR"


@pytest.mark.parametrize(
    "fields",
    [
        (":33B:EUR650,00", ":36:1,0769"),
        (":33B:USD700,00",),
        (":23B:SPRI", ":23E:SDVA", ":23E:INTC"),
        (":53A:BANKGB2L", ":54A:BANKGB2L", ":55A:BANKGB2L"),
        (":56A:CITIUS33", ":57A:CITIUS33"),
        (":23B:SSTD", ":56A:CITIUS33", ":57A:CITIUS33"),
        (":23B:SPAY", ":56C://FW021000018", ":57A:CITIUS33"),
        (":71A:OUR", ":33B:USD700,00", ":71G:USD1,00"),
        (":71A:SHA", ":33B:USD700,00", ":71F:USD1,00", ":71F:EUR1,00"),
        (":71A:BEN", ":33B:USD701,00", ":71F:USD1,00"),
        (":23E:TELI", ":56A:CITIUS33", ":57A:CITIUS33"),
        (":23E:PHON/123", ":57A:CITIUS33"),
    ],
)
def test_mt103_rule_kept(make_mt103, fields):
    assert validate(make_mt103(*fields)) == []


def test_c2_eu_payments_need_33b(make_mt103):
    assert "MT103 C2 (D49)" in rules_of(make_mt103(header=FR_DE))
    assert validate(make_mt103(":33B:USD700,00", header=FR_DE)) == []
    assert validate(make_mt103(header=US_DE)) == []


def test_mandatory_unknown_and_repeated_fields(make_mt103):
    found = validate(make_mt103(":71A:<drop>", ":99:X", ":70:A", ":70:B"))
    lines = [p.line() for p in found]
    assert ":71A:: MT103 T13: mandatory field 71A missing" in lines
    assert ":99:: MT103 T13: field 99 is not allowed in MT103" in lines
    assert ":70:: MT103 T13: field 70 repeated" in lines


def test_user_header_uetr_and_flags(make_mt103):
    good = make_mt103(user="{3:{111:001}{121:8579f4a4-a547-463e-ae63-e7c6620d59b4}{119:STP}}")
    assert validate(good) == []
    bad = make_mt103(user="{3:{111:1}{121:8579F4A4-A547-463E-AE63-E7C6620D59B4}{119:XYZ}}")
    assert [p.path for p in validate(bad)] == ["{3:{121:}}", "{3:{119:}}", "{3:{111:}}"]


MT202 = (
    "{1:F01BANKUS33AXXX0000000000}{2:I202BANKDEFFXXXXN}{3:{119:COV}}{4:\r\n"
    ":20:REF\r\n:21:REL\r\n:32A:250922EUR1000,\r\n:57A:BANKDEFF\r\n:58A:BANKGB2L\r\n"
    ":50K:/1\r\nJOHN\r\n:59:/2\r\nJANE\r\n-}"
)


def test_mt202_cov_and_plain():
    assert validate(MT202.encode()) == []
    assert validate(MT202.replace("{3:{119:COV}}", "").encode())[0].rule == "MT202 T13"
    no_b = MT202.replace(":50K:/1\r\nJOHN\r\n:59:/2\r\nJANE\r\n", "")
    assert validate(no_b.encode())[0].rule == "MT202COV T13"
    assert validate(no_b.replace("{3:{119:COV}}", "").encode()) == []
    missing_57 = no_b.replace("{3:{119:COV}}", "").replace(":57A:BANKDEFF", ":56A:BANKDEFF")
    assert [p.rule for p in validate(missing_57.encode())] == ["MT202 C1 (C81)"]
    seq_b_56 = MT202.replace(":59:/2", ":56A:BANKDEFF\r\n:59:/2")
    assert [p.rule for p in validate(seq_b_56.encode())] == ["MT202COV C2 (C68)"]


def test_mt940_one_currency():
    data = (
        b"{1:F01BANKUS33AXXX0000000000}{2:I940BANKDEFFXXXXN}{4:\r\n:20:S1\r\n:25:123\r\n:28C:1/1\r\n"
        b":60F:C250101EUR1,00\r\n:61:250101C1,001NTRFNONREF\r\n:62F:C250101USD2,00\r\n-}"
    )
    assert {"MT940 C1 (C27)", "MT940 C03 decimals"} <= set(rules_of(data))


def test_unsupported_type_is_a_problem():
    data = b"{1:F01BANKUS33AXXX0000000000}{2:I999BANKDEFFXXXXN}{4:\r\n:20:X\r\n:79:TEXT\r\n-}"
    assert [p.rule for p in validate(data)] == ["MT type"]
