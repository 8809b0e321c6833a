"""Valid SEPA files built from the sepaxml samples, whose IBANs and creditor id are fake."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples" / "iso20022"
PAIN008 = SAMPLES / "pain.008.001.08__sepaxml__test_00800108.xml"
CREDITOR_ID = "DE98ZZZ09999999999"  # the Bundesbank's published test creditor identifier


def pain008(debtor_iban: str = "DE89370400440532013000", creditor_iban: str = "DE02120300000000202051") -> bytes:
    if not PAIN008.is_file():
        pytest.skip(f"sample not present at {PAIN008}")
    text = PAIN008.read_text()
    text = re.sub(r"(<CdtrAcct>\s*<Id>\s*<IBAN>)NL50BANK1234567890", rf"\g<1>{creditor_iban}", text)
    text = re.sub(r"(<DbtrAcct>\s*<Id>\s*<IBAN>)NL50BANK1234567890", rf"\g<1>{debtor_iban}", text)
    return text.replace("DE26ZZZ00000000000", CREDITOR_ID).encode()


PAIN001 = SAMPLES / "pain.001.001.09__sepaxml__test_00100109.xml"


def pain001(debtor_iban: str, creditor_iban: str) -> bytes:
    """The sepaxml pain.001 sample (two payments of 10.12 and 50.00 EUR) between two given IBANs."""
    if not PAIN001.is_file():
        pytest.skip(f"sample not present at {PAIN001}")
    text = PAIN001.read_text()
    text = re.sub(r"(<CdtrAcct>\s*<Id>\s*<IBAN>)NL50BANK1234567890", rf"\g<1>{creditor_iban}", text)
    text = re.sub(r"(<DbtrAcct>\s*<Id>\s*<IBAN>)NL50BANK1234567890", rf"\g<1>{debtor_iban}", text)
    return text.encode()
