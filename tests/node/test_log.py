"""Logs: JSON lines away from a terminal, text at one, per-module levels, and never a secret."""

from __future__ import annotations

import io
import json
import logging
import os
import pty
import select
import subprocess
import sys
import time

import pytest
from support.nodes import REPO, dev_listing, signed_transfer, start_node, wait_receipt

from genesis.builder import VALIDATOR_KEY_FILE
from node.log import REDACTED, event, register_secret, setup_logging
from node.rpc.client import RpcCallError


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def restore_logging():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("qenex.test.chatty").setLevel(logging.NOTSET)


def test_json_lines_off_a_terminal_with_time_level_module_event_and_fields():
    stream = io.StringIO()
    setup_logging("info", stream=stream)
    event(logging.getLogger("qenex.test"), "block_committed", height=7, round=0, txs=2)
    entry = json.loads(stream.getvalue())
    assert entry["level"] == "info" and entry["module"] == "qenex.test" and entry["event"] == "block_committed"
    assert (entry["height"], entry["round"], entry["txs"]) == (7, 0, 2)
    assert entry["time"].endswith("Z")


def test_one_readable_line_at_a_terminal():
    stream = Terminal()
    setup_logging("info", stream=stream)
    event(logging.getLogger("qenex.test"), "block_committed", height=7)
    line = stream.getvalue().strip()
    assert not line.startswith("{")
    assert "INFO" in line and "qenex.test" in line and line.endswith("block_committed height=7")


def test_levels_per_module():
    stream = io.StringIO()
    setup_logging("warning", {"qenex.test.chatty": "debug"}, fmt="json", stream=stream)
    event(logging.getLogger("qenex.test.quiet"), "not_shown", logging.INFO)
    event(logging.getLogger("qenex.test.chatty"), "shown", logging.DEBUG)
    assert [json.loads(line)["event"] for line in stream.getvalue().splitlines()] == ["shown"]
    with pytest.raises(ValueError, match=r"log level of qenex\.x must be one of"):
        setup_logging("info", {"qenex.x": "loud"}, stream=stream)


def test_secret_fields_and_registered_key_material_are_masked_everywhere():
    key = "ab" * 32
    register_secret("0x" + key)
    for fmt, stream in (("json", io.StringIO()), ("text", Terminal())):
        setup_logging("debug", fmt=fmt, stream=stream)
        logger = logging.getLogger("qenex.test")
        event(logger, "keys", private_key="0x1234", password="hunter2", public_key="0x04aa", tx="0x99")
        event(logger, f"leaked_in_message_{key}", note=key.upper())
        try:
            raise ValueError(f"bad key {key}")
        except ValueError:
            logger.exception("failed")
        text = stream.getvalue()
        assert key not in text.lower() and "hunter2" not in text and "0x1234" not in text
        assert text.count(REDACTED) >= 5 and "0x04aa" in text and "0x99" in text


@pytest.mark.slow
def test_a_node_at_debug_level_never_logs_its_validator_key_or_a_signer_key(node_home):
    home, listing = node_home
    (home / "node.toml").write_text('[log]\nlevel = "debug"\n')
    node = start_node(home)  # JSON lines: stderr is a file
    try:
        rpc = node.rpc
        wait_receipt(rpc, rpc.call("eth_sendRawTransaction", "0x" + signed_transfer(listing, 0, 1, 5, 0, 1).hex()))
        with pytest.raises(RpcCallError):
            rpc.call("eth_sendRawTransaction", "0x" + signed_transfer(listing, 0, 1, 10**15, 1, 2).hex())
        with pytest.raises(RpcCallError):
            rpc.call("eth_sendRawTransaction", "0x" + "ff" * 40)
    finally:
        node.stop()
    text = node.log().lower()
    assert '"event": "node_started"' in text and '"event": "block_committed"' in text
    assert '"level": "debug"' in text
    validator_key = (home / VALIDATOR_KEY_FILE).read_text().strip().lower().removeprefix("0x")
    assert validator_key not in text
    for entry in dev_listing(home):
        assert entry["private_key"][2:].lower() not in text


@pytest.mark.slow
def test_a_node_attached_to_a_terminal_logs_readable_lines(node_home):
    home, _ = node_home
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "node.cli", "node", "run", "--home", str(home), "--rpc-port", "0"],
        stdout=subprocess.DEVNULL, stderr=terminal, cwd=REPO, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    os.close(terminal)
    seen = b""
    try:
        deadline = time.monotonic() + 30
        while b"node_started" not in seen and time.monotonic() < deadline:
            if select.select([controller], [], [], 0.5)[0]:
                seen += os.read(controller, 65536)
    finally:
        process.terminate()
        process.wait(timeout=15)
        os.close(controller)
    line = next(line for line in seen.decode().splitlines() if "node_started" in line)
    assert not line.lstrip().startswith("{") and "INFO" in line and "qenex.node" in line and "height=0" in line
