"""Shared helpers for the SWIFT MT gateway tests: the real sample files and a message builder."""

from __future__ import annotations

from pathlib import Path

import pytest

# tests/gateways/swift/<file> -> parents[4] is the directory holding both the repo (main/) and shared/.
SAMPLES = Path(__file__).resolve().parents[4] / "shared" / "samples" / "mt"


@pytest.fixture
def samples() -> Path:
    if not SAMPLES.is_dir():
        pytest.skip(f"sample messages not found at {SAMPLES} (/work/shared missing)")
    return SAMPLES


def mt103(*fields: str, header: str = "{1:F01BANKDEFFAXXX0000000000}{2:I103BANKUS33XXXXN}", user: str = "") -> bytes:
    """A minimal valid MT103 between Germany and the US, with `fields` replacing/adding text lines."""
    base = {
        "20": "REF123",
        "23B": "CRED",
        "32A": "250922USD700,00",
        "50K": "/12345\nJOHN DOE",
        "59": "/LK123456\nJANE ROE",
        "71A": "SHA",
    }
    extra: list[tuple[str, str]] = []
    for line in fields:
        tag, value = line[1:].split(":", 1)
        if tag in base and not any(t == tag for t, _ in extra):
            base[tag] = value
        else:
            extra.append((tag, value))
    body = [(t, v) for t, v in base.items() if v != "<drop>"] + extra
    text = "".join(f"\r\n:{t}:{v.replace(chr(10), chr(13) + chr(10))}" for t, v in body)
    return f"{header}{user}{{4:{text}\r\n-}}".encode()


@pytest.fixture
def make_mt103():
    return mt103
