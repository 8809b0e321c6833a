"""Fuzzing the entry points: any bytes give Problems or MessageError, never another exception."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateways.iso20022 import parse_bytes, validate_bytes
from gateways.problems import MessageError, Problem

SAMPLES = Path(__file__).resolve().parents[4] / "shared" / "samples" / "iso20022"
XSD_DIR = Path(__file__).resolve().parents[4] / "shared" / "iso20022" / "xsd"

if not SAMPLES.is_dir() or not XSD_DIR.is_dir():
    pytest.skip(f"ISO 20022 samples/XSDs not present under {SAMPLES.parents[1]}", allow_module_level=True)

SEEDS = [p.read_bytes() for p in sorted(SAMPLES.glob("*.xml"))[::4]]
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check(data: bytes) -> None:
    problems = validate_bytes(data, XSD_DIR)
    assert isinstance(problems, list)
    assert all(isinstance(p, Problem) for p in problems)
    try:
        parsed = parse_bytes(data, XSD_DIR)
    except MessageError as exc:
        assert exc.problems == problems
    else:
        assert problems == []
        assert isinstance(parsed, dict)


@FUZZ
@given(st.binary(max_size=2048))
def test_arbitrary_bytes(data):
    _check(data)


@st.composite
def mutated_samples(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "delete", "insert", "truncate", "duplicate"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif kind == "insert":
            data[at:at] = draw(
                st.sampled_from([b"<", b">", b"&", b"&amp;", b"<!DOCTYPE x>", b"<x/>", b"\x00", b"]]>", b"\xff"])
            )
        elif kind == "truncate":
            del data[at:]
        else:
            data[at:at] = data[at : at + draw(st.integers(1, 200))]
    return bytes(data)


@FUZZ
@given(mutated_samples())
def test_mutated_samples(data):
    _check(data)


@FUZZ
@given(st.sampled_from(SEEDS), st.text(max_size=40))
def test_text_injected_into_element_content(seed, text):
    """Replacing the first Id's content with arbitrary text: XSD facets or well-formedness catch it."""
    start = seed.find(b"Id>")
    if start < 0:
        return
    end = seed.find(b"<", start)
    _check(seed[: start + 3] + text.encode("utf-8", "surrogatepass") + seed[end:])
