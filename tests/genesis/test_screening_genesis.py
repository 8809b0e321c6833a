"""genesis.screening: optional, validated, and written by the dev builder with a compliance key."""

from __future__ import annotations

import json

import pytest

from genesis.builder import build_dev_genesis, enable_screening, init_dev_home
from genesis.schema import GenesisError, parse_genesis
from ledger.hashing import keccak

KEY = keccak(b"genesis screening test")


def test_no_screening_section_means_no_screening():
    data, _ = build_dev_genesis(KEY)
    assert parse_genesis(data).screening is None


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"model_sha256": "12"}, "64 hex digits"),
        ({}, "model_sha256 is missing"),
        ({"model_sha256": "ab" * 32, "hold_expiry_seconds": 0}, "hold_expiry_seconds must be in"),
        ({"model_sha256": "ab" * 32, "threshold": 3}, "unknown fields"),
        ("on", "must be an object"),
    ],
)
def test_a_bad_screening_section_is_refused_by_name(section, message):
    data, _ = build_dev_genesis(KEY)
    data["screening"] = section
    with pytest.raises(GenesisError, match=message):
        parse_genesis(data)


def test_enable_screening_pins_the_manifest_hash_and_grants_compliance(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "manifest.json").write_text('{"features": []}\n')
    (model / "model.skops").write_bytes(b"artifact")
    home = tmp_path / "home"
    init_dev_home(home, accounts=2)
    digest = enable_screening(home, model, hold_expiry_seconds=60)
    genesis = parse_genesis(json.loads((home / "genesis.json").read_text()))
    assert genesis.screening.model_sha256 == digest
    assert genesis.screening.hold_expiry_seconds == 60
    assert (home / "screening-model" / "model.skops").read_bytes() == b"artifact"
    compliance = [g for g in genesis.roles if g.role == "compliance"]
    assert len(compliance) == 1 and (home / "compliance.key").stat().st_mode & 0o777 == 0o600
    (home / "data").mkdir()
    with pytest.raises(FileExistsError, match="before the chain's first start"):
        enable_screening(home, model)
