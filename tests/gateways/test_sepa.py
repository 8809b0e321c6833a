"""EPC SEPA rulebook checks: the shared samples, a minimal valid SEPA pain.001, each rule broken in turn, the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gateways.messages import validate
from gateways.sepa import sepa_problems, transliterate

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples" / "iso20022"
BASE = SAMPLES / "pain.001.001.09__sepaxml__test_00100109.xml"
REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(not BASE.is_file(), reason=f"ISO 20022 samples not found in {SAMPLES}")

# Rules each shared pain.001 sample breaks, pinned so a change in either the samples or the checks shows up.
EXPECTED_PAIN001 = {
    "pain.001.001.09__cbpr-ur__example_y2025_pain.001.max.xml": {
        "EPC SCT: service level SEPA",
        "EPC SCT: charge bearer SLEV",
    },
    "pain.001.001.09__cbpr-ur__pain001_credit_initiation_sample.xml": {
        "EPC SCT: euro only",
        "EPC SCT: charge bearer SLEV",
    },
    "pain.001.001.09__pain001lib__test.xml": {"EPC SCT: valid IBAN required"},
    "pain.001.001.09__sepaxml__test_00100109.xml": {"EPC SCT: valid IBAN required"},
}


def _valid() -> bytes:
    """The sepaxml sample with real IBANs (its NL50BANK... fails the check digits) and a real BIC."""
    data = BASE.read_bytes()
    return data.replace(b"NL50BANK1234567890", b"NL91ABNA0417164300").replace(b"BANKNL2A", b"ABNANL2A")


def _rules(data: bytes, **kwargs: int) -> set[str]:
    return {p.rule for p in sepa_problems(data, **kwargs)}


def _inst(data: bytes) -> bytes:
    return data.replace(b"</SvcLvl>", b"</SvcLvl>\n        <LclInstrm><Cd>INST</Cd></LclInstrm>", 1)


@pytest.mark.parametrize("name", sorted(EXPECTED_PAIN001))
def test_shared_pain001_samples_pinned(name: str) -> None:
    # None of the shared pain.001 samples passes the SEPA rules; these are the rules each one breaks.
    assert _rules((SAMPLES / name).read_bytes()) == EXPECTED_PAIN001[name]


def test_minimal_sepa_pain001_passes() -> None:
    data = _valid()
    assert validate(data) == []
    assert sepa_problems(data) == []


@pytest.mark.parametrize(
    ("old", "new", "rule", "path_end"),
    [
        (b'Ccy="EUR">10.12', b'Ccy="USD">10.12', "EPC SCT: euro only", "CdtTrfTxInf[1]/Amt/InstdAmt"),
        (b"NL91ABNA0417164300", b"NL92ABNA0417164300", "EPC SCT: valid IBAN required", "DbtrAcct/Id/IBAN"),
        (b"ABNANL2A", b"ABNAXX2A", "EPC SCT: valid BIC required", "DbtrAgt/FinInstnId/BICFI"),
        (b"Test von Testenstein", "Test &amp; S\u00f6hne".encode(), "EPC SCT: SEPA character set", "Cdtr/Nm"),
        (b"<ChrgBr>SLEV</ChrgBr>", b"<ChrgBr>SHAR</ChrgBr>", "EPC SCT: charge bearer SLEV", "PmtInf/ChrgBr"),
        (b"<Cd>SEPA</Cd>", b"<Cd>NURG</Cd>", "EPC SCT: service level SEPA", "PmtTpInf/SvcLvl"),
    ],
)
def test_each_rule_reported(old: bytes, new: bytes, rule: str, path_end: str) -> None:
    data = _valid().replace(old, new)
    assert data != _valid()
    problems = [p for p in sepa_problems(data) if p.rule == rule]
    assert problems, sepa_problems(data)
    assert problems[0].path.endswith(path_end)
    assert problems[0].found


def test_remittance_over_140_characters() -> None:
    data = _valid().replace(b"Test transaction1", b"x" * 141)
    (problem,) = sepa_problems(data)
    assert "140 characters" in problem.rule
    assert problem.path.endswith("CdtTrfTxInf[1]/RmtInf/Ustrd")
    assert "141 characters" in problem.found
    assert sepa_problems(_valid().replace(b"Test transaction1", b"x" * 140)) == []


def test_sct_inst_maximum_default_and_configured() -> None:
    inst = _inst(_valid())
    assert validate(inst) == []
    assert sepa_problems(inst) == []
    over = inst.replace(b">50.00<", b">100000.01<").replace(b">60.12<", b">100010.13<")
    (problem,) = sepa_problems(over)
    assert problem.rule.startswith("EPC SCT Inst") and "100,000.00" in problem.rule
    assert problem.found == "100000.01"
    assert sepa_problems(over.replace(b">100000.01<", b">100000.00<")) == []
    assert [p.found for p in sepa_problems(inst, sct_inst_max_minor=2000)] == ["50.00"]
    # Not INST: the SCT Inst maximum does not apply.
    assert sepa_problems(_valid().replace(b">50.00<", b">100000.01<")) == []


def test_other_message_types_are_named() -> None:
    data = (SAMPLES / "camt.053.001.08__genkgo__camt053.v8.xml").read_bytes()
    (problem,) = sepa_problems(data)
    assert "only" in problem.rule and problem.found == "camt.053.001.08"


def test_transliterate_examples() -> None:
    assert transliterate("\u00e9") == "e"
    assert transliterate("\u00fc") == "u"
    assert transliterate("\u00df") == "ss"
    assert transliterate("&") == "+"
    assert transliterate("M\u00fcller & S\u00f6hne \u20ac5") == "Muller + Sohne .5"
    assert transliterate("Stra\u00dfe 1/2") == "Strasse 1/2"


def test_transliterate_is_not_applied_silently() -> None:
    data = _valid().replace(b"Test von Testenstein", "M\u00fcller".encode())
    assert [p.rule for p in sepa_problems(data)] == ["EPC SCT: SEPA character set"]


def _cli(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "node.cli", "gateway", "validate", str(path), "--sepa", *extra],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )


def test_cli_sepa(tmp_path: Path) -> None:
    good = tmp_path / "good.xml"
    good.write_bytes(_inst(_valid()))
    result = _cli(good)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid" in result.stdout
    result = _cli(good, "--sct-inst-max", "20.00")
    assert result.returncode == 1
    assert "EPC SCT Inst" in result.stdout and "50.00" in result.stdout
    result = _cli(BASE)
    assert result.returncode == 1
    assert "EPC SCT: valid IBAN required" in result.stdout
