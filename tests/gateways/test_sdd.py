"""EPC SEPA Direct Debit rulebook checks: creditor identifier, mandate, sequence type, CORE/B2B."""

from __future__ import annotations

import pytest
from support.gateway_samples import CREDITOR_ID, pain008

from gateways.messages import validate
from gateways.sdd import creditor_id_problem, sdd_problems
from gateways.sepa import sepa_problems


def test_valid_collection_passes_xsd_and_rulebook() -> None:
    data = pain008()
    assert validate(data) == []
    assert sdd_problems(data) == []
    assert sepa_problems(data) == []  # --sepa on a pain.008 runs the SDD rules


@pytest.mark.parametrize(
    ("identifier", "valid"),
    [
        (CREDITOR_ID, True),
        ("DE26ZZZ00000000000", False),  # the sepaxml sample's: check digits should be 36
        ("DE36ZZZ00000000000", True),
        ("NL08ZZZ502057730000", True),  # a published Dutch creditor id
        ("DE98ZZZ0999999999X", False),
        ("D98ZZZ09999999999", False),
        ("", False),
    ],
)
def test_creditor_identifier_mod_97_10(identifier: str, valid: bool) -> None:
    assert (creditor_id_problem(identifier) is None) is valid


def test_sample_with_fake_identifiers_is_refused_naming_each() -> None:
    data = pain008().replace(CREDITOR_ID.encode(), b"DE26ZZZ00000000000")
    rules = {p.rule for p in sdd_problems(data)}
    assert rules == {"EPC SDD: SEPA creditor identifier"}
    found = next(p.found for p in sdd_problems(data))
    assert "MOD 97-10 gives 36" in found


@pytest.mark.parametrize(
    ("old", "new", "rule"),
    [
        (b"<SeqTp>FRST</SeqTp>", b"<SeqTp>NEXT</SeqTp>", "EPC SDD: sequence type FRST/RCUR/OOFF/FNAL"),
        (b"<Cd>CORE</Cd>", b"<Cd>COR1</Cd>", "EPC SDD: scheme CORE or B2B"),
        (b"<MndtId>1234</MndtId>", b"<MndtId>12_34</MndtId>", "EPC SDD: mandate id of 1-35 SEPA characters"),
        (b"<DtOfSgntr>2017-01-20</DtOfSgntr>", b"<DtOfSgntr>2017-02-20</DtOfSgntr>", "on or before the collection"),
        (b"<Prtry>SEPA</Prtry>", b"<Prtry>SEPB</Prtry>", "EPC SDD: identification scheme SEPA"),
        (b'Ccy="EUR"', b'Ccy="CHF"', "EPC SDD: euro only"),
        (b"<ChrgBr>SLEV</ChrgBr>", b"<ChrgBr>SHAR</ChrgBr>", "EPC SDD: charge bearer SLEV"),
        (b"<Cd>SEPA</Cd>", b"<Cd>NURG</Cd>", "EPC SDD: service level SEPA"),
    ],
)
def test_each_rule_names_its_path(old: bytes, new: bytes, rule: str) -> None:
    data = pain008()
    assert old in data
    problems = sdd_problems(data.replace(old, new, 1))
    assert any(rule in p.rule for p in problems), problems
    assert all(p.path.startswith("/Document") for p in problems)


def test_core_and_b2b_never_share_a_message() -> None:
    data = pain008()
    mixed = data.replace(b"<Cd>CORE</Cd>", b"<Cd>B2B</Cd>", 1)
    assert mixed.count(b"<Cd>B2B</Cd>") == 1 and b"<Cd>CORE</Cd>" in mixed
    assert [p.rule for p in sdd_problems(mixed)] == ["EPC SDD: CORE and B2B collections never share a message"]
    assert sdd_problems(data.replace(b"<Cd>CORE</Cd>", b"<Cd>B2B</Cd>")) == []


def test_missing_mandate_and_creditor_id_are_named() -> None:
    data = pain008()
    no_mandate = data.replace(b"<MndtId>1234</MndtId>", b"", 1)
    assert any(p.rule == "EPC SDD: mandate id required" for p in sdd_problems(no_mandate))
    start, end = data.index(b"<CdtrSchmeId>"), data.index(b"</CdtrSchmeId>") + len(b"</CdtrSchmeId>")
    no_creditor_id = data[:start] + data[end:]
    assert any("CdtrSchmeId" in p.rule for p in sdd_problems(no_creditor_id))
