"""Hostile input: arbitrary bytes and mutated real samples never raise anything but MessageError.

validate() must return Problems and never raise at all; parse_file() may only raise MessageError; whatever
parses must round-trip through generate().
"""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateways.messages import detect, validate
from gateways.problems import MessageError, Problem
from gateways.swift import canonical
from gateways.swift.fin import FinMessage, generate, parse_file

# tests/gateways/swift/<file> -> parents[4] is the directory holding both the repo (main/) and shared/.
SAMPLES = Path(__file__).resolve().parents[4] / "shared" / "samples" / "mt"
SEEDS = [p.read_bytes() for p in sorted(SAMPLES.glob("mt*"))] if SAMPLES.is_dir() else []
SEEDS.append(
    b"{1:F21AABSLKLXAXXX0000000000}{4:{177:1903250612}{451:0}}{1:F01AABSLKLXAXXX0000000000}"
    b"{2:I103HANYUS33XXXXN}{3:{121:09797101-a670-4e81-98ed-34b409736305}}{4:\r\n:20:R\r\n:23B:CRED\r\n"
    b":32A:250922USD700,\r\n:50K:/1\r\nA\r\n:59:/2\r\nB\r\n:71A:OUR\r\n-}{5:{CHK:1}}\r\n$"
)
ALPHABET = b"{}:-$\r\n0123456789ABCDEFIOSXabc/,. \x00\xff"
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def exercise(data: bytes) -> None:
    problems = validate(data)
    assert isinstance(problems, list) and all(isinstance(p, Problem) for p in problems)
    assert isinstance(detect(data), str)
    try:
        messages = parse_file(data)
    except MessageError as error:
        assert error.problems
        return
    assert parse_file(generate(messages)) == messages
    canonical(data)


@FUZZ
@given(st.binary(max_size=400))
def test_arbitrary_bytes(data):
    exercise(data)


@FUZZ
@given(st.lists(st.sampled_from(list(ALPHABET)), max_size=300).map(bytes))
def test_bytes_from_the_fin_alphabet(data):
    exercise(data)


@FUZZ
@given(
    st.sampled_from(SEEDS),
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=10_000),
            st.sampled_from(["delete", "insert", "replace"]),
            st.binary(max_size=4),
        ),
        max_size=6,
    ),
)
def test_mutated_samples(seed, edits):
    data = bytearray(seed)
    for position, action, chunk in edits:
        at = position % (len(data) + 1)
        if action == "delete":
            del data[at : at + len(chunk) + 1]
        elif action == "insert":
            data[at:at] = chunk
        else:
            data[at : at + len(chunk)] = chunk
    exercise(bytes(data))


@FUZZ
@given(
    st.lists(
        st.tuples(
            st.from_regex(r"[0-9]{2}[A-Z]?", fullmatch=True),
            st.text(alphabet="ABC xyz/,:-0123456789\n", max_size=40),
        ),
        max_size=8,
    )
)
def test_generated_text_blocks_round_trip(fields):
    clean = [(tag, value) for tag, value in fields if not any(_starts_field(line) for line in value.split("\n"))]
    clean = [(tag, value) for tag, value in clean if "\n-}" not in value and not value.startswith("}")]
    message = FinMessage(basic="F01AABSLKLXAXXX0000000000", application="I103HANYUS33XXXXN", fields=clean)
    try:
        again = parse_file(generate([message]))
    except MessageError:
        return
    assert again == [message]


def _starts_field(line: str) -> bool:
    return re.match(r"^:[0-9]{2}[A-Z]?:", line) is not None or line == "-}" or line.startswith("-}")
