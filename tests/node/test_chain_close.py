"""A process that opened a chain exits cleanly: no LevelDB handle is left for the interpreter's
teardown (py-trie's class-wide cache used to hold one, and Python printed "Error in
sys.excepthook" at the exit of every node, CLI command and test run that wrote EVM state)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("close", [True, False], ids=["closed", "left-open"])
def test_a_process_that_wrote_evm_state_exits_without_errors(tmp_path, close):
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from genesis.builder import init_dev_home
        from genesis.schema import load_genesis
        from node.chain import Chain

        home = Path({str(tmp_path / "home")!r})
        init_dev_home(home, accounts=2)  # a genesis with an EVM allocation: the EVM state is written
        chain = Chain(home / "data", load_genesis(home / "genesis.json"))
        assert chain.head.header.evm_state_root
        if {close}:
            chain.close()
        print("opened")
        """
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "opened"
    assert result.stderr == "", result.stderr
