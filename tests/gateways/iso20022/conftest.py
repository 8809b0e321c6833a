"""Shared paths for the ISO 20022 gateway tests: samples and official XSDs live outside the repo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[4] / "shared"
SAMPLES = SHARED / "samples" / "iso20022"
XSD_DIR = SHARED / "iso20022" / "xsd"


@pytest.fixture(scope="session")
def xsd_dir() -> Path:
    if not XSD_DIR.is_dir():
        pytest.skip(f"official XSDs not present at {XSD_DIR}")
    return XSD_DIR


@pytest.fixture(scope="session")
def manifest() -> list[dict]:
    path = SAMPLES / "manifest.json"
    if not path.is_file():
        pytest.skip(f"ISO 20022 samples not present at {SAMPLES}")
    return json.loads(path.read_text())


@pytest.fixture(autouse=True)
def _no_env_schema_dir(monkeypatch):
    """Tests choose their schema source explicitly; an operator's environment must not leak in."""
    monkeypatch.delenv("QENEX_ISO20022_XSD_DIR", raising=False)
