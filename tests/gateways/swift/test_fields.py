"""Each field's SWIFT format: good values pass, bad ones name the field and the SWIFT error code."""

from __future__ import annotations

import pytest

from gateways.swift.fields import check_field, parse_amount, parse_date


def rules(tag: str, value: str) -> list[str]:
    problems = check_field(tag, value)
    assert all(p.path == f":{tag}:" for p in problems)
    return [p.rule for p in problems]


@pytest.mark.parametrize(
    ("tag", "value"),
    [
        ("20", "REF-1/2"),
        ("20", "A" * 16),
        ("21", "NONREF"),
        ("23B", "CRED"),
        ("23E", "PHOB/0049 69 1234"),
        ("13C", "/RNCTIME/0802+0000"),
        ("32A", "250922USD700,"),
        ("32A", "250922USD700,12"),
        ("32A", "250922JPY1000,"),
        ("32A", "250922KWD1,123"),
        ("33B", "EUR6740,91"),
        ("36", "1,0825"),
        ("50A", "/12345678901234567890\nCFIMHKH1XXX"),
        ("50A", "SSSSESMMXXX"),
        ("50F", "/12345\n1/JOHN DOE\n2/1 MAIN STREET\n3/US/NEW YORK"),
        ("50K", "/100611002421\nOPTIMA TECHNOLOGIES (PVT) LTD\nNO 740 COTTA ROAD\nSRI LANKA"),
        ("52A", "/D/12345\nAABSLKLX"),
        ("52D", "/KOL BRANCH\nCOMMERCIAL BANK"),
        ("53A", "BBBBESMMXXX"),
        ("53B", "/12345"),
        ("53D", "SOME BANK\nSOMEWHERE"),
        ("54A", "CITIUS33"),
        ("56A", "/123456\nCITIUS33XXX"),
        ("57A", "FOOBARYYXXX"),
        ("57D", "/KOL BRANCH\nCOMMERCIAL BANK\nGALLE RD COLOMBO 03"),
        ("59", "/ES0123456789012345671234\nFOOOOO 1000 FOOBAR S.A."),
        ("59A", "/123\nFOOBARYYXXX"),
        ("59F", "/12345\n1/JANE ROE\n3/GB/LONDON"),
        ("70", "LINE 1\nLINE 2\nLINE 3\nLINE 4"),
        ("71A", "OUR"),
        ("71F", "USD10,"),
        ("71G", "EUR5,50"),
        ("72", "/INS/A\n/INS/B\n//C\n//D\n//E\n//F"),
        ("25", "48751258"),
        ("28C", "1001/1"),
        ("28C", "102"),
        ("60F", "C221020EUR8547,25"),
        ("60M", "D221020EUR0,"),
        ("61", "221020C65784,32NTRFpacs008EndToEnd+"),
        ("61", "0704050402C115454,92NSALNONREF\n/US/037833100/SHS/1235,"),
        ("61", "020528D1,2FBNK505064/DEV//67914"),
        ("61", "110101RD10,00N000NONREF"),
        ("62F", "C221020EUR57237,07"),
        ("64", "C221020EUR57237,07"),
        ("65", "C221021EUR57237,07"),
        ("86", "FREE TEXT"),
    ],
)
def test_valid_field(tag, value):
    assert check_field(tag, value) == []


@pytest.mark.parametrize(
    ("tag", "value", "rule"),
    [
        ("20", "A" * 17, "T26 line length"),
        ("20", "/REF", "T26"),
        ("20", "RE//F", "T26"),
        ("20", "REF_1", "T26 character set X"),
        ("23B", "CREDIT", "T18 code"),
        ("23E", "phob", "T26"),
        ("13C", "/RNCTIME/123123123+0000", "T26"),
        ("32A", "250922USD700", "T40 amount"),
        ("32A", "250922USD700.00", "T40 amount"),
        ("32A", "250922USD7,0,0", "T40 amount"),
        ("32A", "250922USD700,123", "C03 decimals"),
        ("32A", "250922JPY1000,5", "C03 decimals"),
        ("32A", "250922XYZ1,", "T52 currency"),
        ("32A", "251322USD1,", "T50 date"),
        ("32A", "250230USD1,", "T50 date"),
        ("32A", "2509USD1,", "T50/T52"),
        ("32A", "250922USD1234567890123456,", "T40 amount"),
        ("33B", "usd1,", "T52"),
        ("36", "1.08", "T40 rate"),
        ("50A", "NOTABIC", "T27 BIC"),
        ("50F", "/1\nJOHN", "T54"),
        ("50K", "/1\nA\nB\nC\nD\nE", "T26 lines"),
        ("52A", "/1\n/2\nAABSLKLX", "T26"),
        ("57A", "aabslklx", "T27 BIC"),
        ("56C", "CLEARING", "T26 account"),
        ("59", "/1\n" + "A" * 36, "T26 line length"),
        ("70", "A\nB\nC\nD\nE", "T26 lines"),
        ("71A", "ALL", "T18 code"),
        ("71F", "USD1,001", "C03 decimals"),
        ("72", "\n".join("L" * 7), "T26 lines"),
        ("28C", "A/1", "T40"),
        ("60F", "X221020EUR1,", "T51"),
        ("60F", "C221020DEM1,", "T52 currency"),
        ("61", "221020X1,NTRFREF", "T26 statement line"),
        ("61", "221320C1,NTRFREF", "T50 date"),
        ("61", "221020C1,NTRF" + "R" * 17, "T26 reference"),
        ("86", "A" * 66, "T26 line length"),
    ],
)
def test_invalid_field(tag, value, rule):
    assert rule in rules(tag, value)


def test_amounts_are_exact_decimals():
    assert str(parse_amount("0,10")) == "0.10"
    assert str(parse_amount("1000,")) == "1000.0"
    assert parse_amount(",5") is None and parse_amount("1,2,3") is None and parse_amount("1.5") is None


def test_dates_use_the_swift_century_window():
    assert parse_date("991231").year == 1999
    assert parse_date("250922").isoformat() == "2025-09-22"
    assert parse_date("240229") is not None and parse_date("230229") is None and parse_date("2502") is None
