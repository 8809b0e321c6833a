"""`qenex gateway serve` as a real process in front of a real node: messages POSTed over HTTP are booked
once and answered with a pacs.002, statements come back over GET, bodies are bounded, and the OpenAPI
document served is valid and describes the paths that answer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from openapi_spec_validator import validate as validate_openapi
from support.nodes import REPO

from gateways.iso20022 import parse_bytes, validate_bytes
from gateways.messages import validate

SHARED = Path(__file__).resolve().parents[3] / "shared"
XSD_DIR = SHARED / "iso20022" / "xsd"
PACS008 = SHARED / "samples" / "iso20022" / "pacs.008.001.08__mt2mx-expected__p_2_3_1_a_mt103_pacs_008_A_D.xml"
MAX_BODY = 64 * 1024


def _request(url: str, body: bytes | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture
def gateway(running_node, tmp_path: Path) -> Iterator[tuple[str, object, list[dict]]]:
    if not PACS008.is_file() or not XSD_DIR.is_dir():
        pytest.skip("shared samples/XSDs not present")
    node, listing = running_node
    ours, theirs = listing[1]["accounts"][0]["id"], listing[2]["accounts"][0]["id"]
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"25698745": theirs, "65479512": ours}))
    process = subprocess.Popen(
        [sys.executable, "-m", "node.cli", "gateway", "serve", "--rpc", node.url, "--from", listing[0]["private_key"],
         "--accounts-map", str(mapping), "--port", "0", "--max-body-bytes", str(MAX_BODY)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("Gateway REST: "):
        process.kill()
        pytest.fail(f"gateway did not start: {line} {process.communicate()[1]}")
    yield line.split(" ", 2)[2].strip(), node, listing
    process.terminate()
    assert process.wait(timeout=15) == 0


def test_post_books_once_and_answers_with_pacs002(gateway) -> None:
    url, node, listing = gateway
    ours = listing[1]["accounts"][0]["id"]
    before = int(node.rpc.call("qenex_getAccount", ours)["balance"])
    status, body = _request(f"{url}/messages", PACS008.read_bytes())
    assert status == 200, body
    result = json.loads(body)
    [payment] = result["payments"]
    assert payment["state"] == "booked" and payment["status"] == "0x1" and payment["amount"] == "6578432"
    assert int(node.rpc.call("qenex_getAccount", ours)["balance"]) == before + 6578432
    report = result["statusReport"].encode()
    assert validate_bytes(report, XSD_DIR) == []
    assert parse_bytes(report, XSD_DIR)["message"]["transactions"][0]["status"] == "ACSC"

    status, body = _request(f"{url}/messages", PACS008.read_bytes())
    assert status == 200 and [p["state"] for p in json.loads(body)["payments"]] == ["duplicate"]
    assert int(node.rpc.call("qenex_getAccount", ours)["balance"]) == before + 6578432

    status, body = _request(f"{url}/messages/{result['messageHash']}")
    assert status == 200 and json.loads(body)["messageHash"] == result["messageHash"]
    status, body = _request(f"{url}/messages/{result['messageHash']}/pacs002")
    assert status == 200 and b"pacs.002.001.10" in body
    assert _request(f"{url}/messages/0x{'00' * 32}")[0] == 404


def test_invalid_empty_and_oversized_bodies_are_refused(gateway) -> None:
    url, _, _ = gateway
    status, body = _request(f"{url}/messages", b"{1:F01BANKDEFFAXXX0000000000}{2:I103BANKDEFFXXXXN}{4:\n:20:X\n-}")
    assert status == 422
    assert any(p["rule"].startswith("MT103") or "mandatory" in p["rule"] for p in json.loads(body)["problems"])
    assert _request(f"{url}/messages", b"")[0] == 400
    assert _request(f"{url}/messages", b"<" * (MAX_BODY + 1))[0] == 413


def test_statements_over_get(gateway) -> None:
    url, node, listing = gateway
    ours = listing[1]["accounts"][0]["id"]
    assert _request(f"{url}/messages", PACS008.read_bytes())[0] == 200
    status, camt = _request(f"{url}/statements/{ours}?format=camt053")
    assert status == 200 and validate_bytes(camt, XSD_DIR) == []
    [statement] = parse_bytes(camt, XSD_DIR)["message"]["statements"]
    closing = next(b for b in statement["balances"] if b["type"] == "CLBD")
    assert closing["amount"]["minor"] == int(node.rpc.call("qenex_getAccount", ours)["balance"])
    status, mt940 = _request(f"{url}/statements/{ours}?format=mt940&fromBlock=1")
    assert status == 200 and validate(mt940) == []
    assert _request(f"{url}/statements/{ours}?format=pdf")[0] == 400
    assert _request(f"{url}/statements/{ours}?fromBlock=x")[0] == 400
    assert _request(f"{url}/statements/GL:NOPE")[0] == 404


def test_openapi_document_is_valid_and_its_paths_answer(gateway) -> None:
    url, _, listing = gateway
    status, body = _request(f"{url}/openapi.json")
    assert status == 200
    document = json.loads(body)
    validate_openapi(document)
    assert str(MAX_BODY) in document["paths"]["/messages"]["post"]["requestBody"]["description"]
    concrete = {"{hash}": "0x" + "11" * 32, "{account}": listing[1]["accounts"][0]["id"]}
    for path, operations in document["paths"].items():
        for placeholder, value in concrete.items():
            path = path.replace(placeholder, value)
        for method, operation in operations.items():
            status, _ = _request(url + path, b"" if method == "post" else None)
            assert str(status) in operation["responses"], (method, path, status)
