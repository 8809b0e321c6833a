"""Fuzzing the entry points added on top of the parsers: booking, SDD checks and conversion take any
bytes and answer with Problems / MessageError, never another exception (a crafted message must not
crash the gateway service)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateways.booking import transactions_from_message
from gateways.convert import convert
from gateways.problems import MessageError, Problem
from gateways.sdd import sdd_problems

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples"
if not SAMPLES.is_dir():
    pytest.skip(f"samples not present under {SAMPLES}", allow_module_level=True)

SEEDS = [
    (SAMPLES / "mt" / name).read_bytes()
    for name in ("mt103__mt2mx-input__finMessage_p_2_3_1_a_A_D.fin", "mt202__prowide__MT202ParserTest__L293.fin")
] + [
    (SAMPLES / "iso20022" / name).read_bytes()
    for name in (
        "pacs.008.001.08__cbprplus__c.105.1.1_pacs.008_AtoB.xml",
        "pain.008.001.08__sepaxml__test_00800108.xml",
        "pain.001.001.09__sepaxml__test_00100109.xml",
    )
]
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MAP = {"25698745": "GL:A", "65479512": "GL:B", "CHASGB2L": "GL:C", "FOOBARYY": "GL:D"}


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        kind = draw(st.sampled_from(["flip", "delete", "insert", "truncate"]))
        if kind == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif kind == "insert":
            data[at:at] = draw(st.sampled_from([b"<", b"&amp;", b":20:", b"\r\n", b"{", b"}", b"9" * 40, b"\xff"]))
        else:
            del data[at:]
    return bytes(data)


def _clean(call: Callable[[bytes], object], data: bytes) -> None:
    try:
        result = call(data)
    except MessageError as error:
        assert error.problems and all(isinstance(p, Problem) for p in error.problems)
        return
    assert result is not None


@FUZZ
@given(st.one_of(mutated(), st.binary(max_size=1024)))
def test_booking_never_crashes(data: bytes) -> None:
    _clean(lambda d: transactions_from_message(d, MAP), data)


@FUZZ
@given(st.one_of(mutated(), st.binary(max_size=1024)))
def test_sdd_checks_never_crash(data: bytes) -> None:
    problems = sdd_problems(data)
    assert all(isinstance(p, Problem) for p in problems)


@FUZZ
@given(st.one_of(mutated(), st.binary(max_size=1024)), st.sampled_from(["pacs.008", "mt103"]))
def test_conversion_never_crashes_and_never_emits_an_invalid_message(data: bytes, target: str) -> None:
    _clean(lambda d: convert(d, target), data)
