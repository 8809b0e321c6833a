"""`qenex gateway validate|parse FILE` as an operator runs it: a real process, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
# tests/gateways/swift/<file> -> parents[4] is the directory holding both the repo (main/) and shared/.
SAMPLES = Path(__file__).resolve().parents[4] / "shared" / "samples" / "mt"

VALID = (
    b"{1:F01BANKUS33AXXX0000000000}{2:I103BANKDEFFXXXXN}{4:\r\n:20:R\r\n:23B:CRED\r\n:32A:250922USD1,\r\n"
    b":50K:JOHN\r\n:59:JANE\r\n:71A:OUR\r\n-}"
)


def gateway(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "node.cli", "gateway", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def test_validate_valid_and_invalid(tmp_path):
    good = tmp_path / "good.fin"
    good.write_bytes(VALID)
    result = gateway("validate", str(good))
    assert result.returncode == 0, result.stdout + result.stderr
    bad = tmp_path / "bad.fin"
    bad.write_bytes(VALID.replace(b":71A:OUR", b":71A:OUR\r\n:33B:USD1,\r\n:71F:USD1,"))
    result = gateway("validate", str(bad))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [":71F:: MT103 C7 (E13): 71F present with 71A OUR"]


def test_parse_prints_canonical_json(tmp_path):
    good = tmp_path / "good.fin"
    good.write_bytes(VALID)
    result = gateway("parse", str(good))
    assert result.returncode == 0, result.stderr
    view = json.loads(result.stdout)
    assert view["type"] == "mt103" and view["amount"] == "1.00" and view["currency"] == "USD"
    assert result.stdout.startswith('{\n  "type"')


def test_parse_refuses_a_broken_file(tmp_path):
    broken = tmp_path / "broken.fin"
    broken.write_bytes(b"{1:F01A}{4:\r\n:20:X")
    result = gateway("parse", str(broken))
    assert result.returncode == 1 and "FIN syntax" in result.stderr


def test_unreadable_files_are_refused_clearly(tmp_path):
    missing = gateway("validate", str(tmp_path / "missing.fin"))
    assert missing.returncode == 2 and "no such file" in missing.stderr
    directory = gateway("parse", str(tmp_path))
    assert directory.returncode == 2 and "is a directory" in directory.stderr


def test_sample_through_the_cli():
    if not SAMPLES.is_dir():
        pytest.skip(f"sample messages not found at {SAMPLES} (/work/shared missing)")
    result = gateway("validate", str(SAMPLES / "mt202__mt2mx-input__finMessage_5641_B_C.fin"))
    assert result.returncode == 0, result.stdout
    result = gateway("validate", str(SAMPLES / "mt940__mt940py__jejik__generic.sta"))
    assert result.returncode == 1 and "MT940 T13" in result.stdout
