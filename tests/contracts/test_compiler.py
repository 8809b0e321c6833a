"""Recompiling the Solidity sources reproduces the committed artifacts byte for byte.

Needs npm (solc-js is installed from the npm registry into contracts/toolchain/node_modules on
first use) or a native solc 0.8.28; CI has the npm registry, so this runs there on every push.
"""

from __future__ import annotations

import json

from contracts.compiler import ARTIFACTS_DIR, STANDARD_INPUT, compile_all, load_artifact, standard_input


def test_recompiling_reproduces_the_committed_artifacts(tmp_path):
    written = compile_all(tmp_path)
    names = sorted(path.name for path in written)
    committed = sorted(path.name for path in ARTIFACTS_DIR.glob("*.json"))
    assert names == committed
    for name in names:
        assert (tmp_path / name).read_text() == (ARTIFACTS_DIR / name).read_text(), (
            f"{name} differs; run qenex contracts compile"
        )


def test_standard_input_is_self_contained_and_matches_the_sources():
    committed = json.loads((ARTIFACTS_DIR / STANDARD_INPUT).read_text())
    assert committed == standard_input()
    sources = committed["sources"]
    assert {"Escrow.sol", "Loan.sol", "MultiSig.sol", "PaymentSplitter.sol"} <= set(sources)
    assert "@openzeppelin/contracts/token/ERC20/IERC20.sol" in sources
    assert all("content" in source for source in sources.values())


def test_artifacts_carry_abi_bytecode_and_metadata():
    escrow = load_artifact("Escrow")
    assert escrow["bytecode"].startswith("0x6") and len(escrow["deployedBytecode"]) > 100
    assert escrow["metadata"]["compiler"]["version"].startswith("0.8.28+commit.")
    assert {item.get("name") for item in escrow["abi"]} >= {
        "fund",
        "release",
        "refund",
        "reclaim",
        "dispute",
        "resolve",
    }
