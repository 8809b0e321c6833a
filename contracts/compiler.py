"""Compile contracts/solidity/*.sol with py-solc-x into committed artifacts.

The compiler is a native `solc` of the pinned version when one is on PATH, else the npm package
`solc` (solc-js: the same compiler in WebAssembly) behind the solc-compatible shim
contracts/toolchain/solc, installed with `npm ci` into contracts/toolchain/node_modules on first
use. Nothing is downloaded from anywhere but the npm registry; the running node needs none of it.

Artifacts (contracts/artifacts/): one NAME.json per contract (ABI, creation and runtime
bytecode, metadata) and standard-input.json, the exact standard-JSON input that produced them,
which block explorers accept for verification. Recompiling reproduces them byte for byte
(tests/contracts/test_compiler.py).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import solcx

CONTRACTS_DIR = Path(__file__).resolve().parent
SOURCES_DIR = CONTRACTS_DIR / "solidity"
ARTIFACTS_DIR = CONTRACTS_DIR / "artifacts"
TOOLCHAIN_DIR = CONTRACTS_DIR / "toolchain"
SHIM = TOOLCHAIN_DIR / "solc"
SOLC_VERSION = "0.8.28"
STANDARD_INPUT = "standard-input.json"
SETTINGS = {
    "optimizer": {"enabled": True, "runs": 200},
    "evmVersion": "cancun",
    "metadata": {"bytecodeHash": "ipfs"},
    "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "metadata"]}},
}
_IMPORT = re.compile(r'^\s*import\s+(?:[^"\']*\sfrom\s+)?["\']([^"\']+)["\']\s*;', re.MULTILINE)


class CompileError(RuntimeError):
    """The toolchain is missing or the sources do not compile; the message says which."""


def solc_binary() -> Path:
    """A native solc of SOLC_VERSION if on PATH, else the npm shim (installing solc-js once)."""
    native = shutil.which("solc")
    if native and solcx.wrapper.get_solc_version(native) == solcx.wrapper.Version(SOLC_VERSION):
        return Path(native)
    install_toolchain()
    return SHIM


def install_toolchain() -> None:
    """`npm ci` the pinned solc-js and OpenZeppelin once: imports of `@...` read them, whichever
    compiler runs."""
    if not (TOOLCHAIN_DIR / "node_modules" / "solc" / "package.json").is_file():
        npm = shutil.which("npm")
        if npm is None:
            raise CompileError(f"no solc {SOLC_VERSION} on PATH and no npm to install solc-js; install Node.js/npm")
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=TOOLCHAIN_DIR, capture_output=True, text=True, timeout=600
        )
        if result.returncode != 0:
            raise CompileError(f"npm ci in {TOOLCHAIN_DIR} failed:\n{result.stderr[-2000:]}")


def _resolve(importer: str, target: str) -> str:
    if target.startswith("."):
        parts = importer.split("/")[:-1]
        for part in target.split("/"):
            if part == "..":
                parts.pop()
            elif part != ".":
                parts.append(part)
        return "/".join(parts)
    return target


def _read_source(name: str) -> str:
    if name.startswith("@"):
        install_toolchain()
    path = TOOLCHAIN_DIR / "node_modules" / name if name.startswith("@") else SOURCES_DIR / name
    if not path.is_file():
        raise CompileError(f"import {name!r} not found (looked at {path})")
    return path.read_text()


def collect_sources(roots: list[str]) -> dict[str, dict[str, str]]:
    """Every source the roots import, transitively, keyed by import path, with its content inline
    (so the standard-JSON input is self-contained for verification)."""
    sources: dict[str, dict[str, str]] = {}
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in sources:
            continue
        content = _read_source(name)
        sources[name] = {"content": content}
        pending.extend(_resolve(name, target) for target in _IMPORT.findall(content))
    return dict(sorted(sources.items()))


def standard_input() -> dict:
    roots = sorted(path.name for path in SOURCES_DIR.glob("*.sol"))
    return {"language": "Solidity", "sources": collect_sources(roots), "settings": SETTINGS}


def _dump(value: object) -> str:
    return json.dumps(value, indent=2, sort_keys=True) + "\n"


def compile_all(out_dir: Path = ARTIFACTS_DIR) -> list[Path]:
    """Compile every contract under contracts/solidity/ and write the artifacts into `out_dir`."""
    binary = solc_binary()
    input_json = standard_input()
    try:
        output = solcx.compile_standard(input_json, solc_binary=binary)
    except solcx.exceptions.SolcError as exc:
        raise CompileError(str(exc)) from None
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / STANDARD_INPUT]
    (out_dir / STANDARD_INPUT).write_text(_dump(input_json))
    local = {path.name for path in SOURCES_DIR.glob("*.sol")}
    for source_name, contracts in sorted(output["contracts"].items()):
        if source_name not in local:
            continue  # libraries and interfaces from npm packages are not deployable artifacts
        for name, compiled in sorted(contracts.items()):
            metadata = json.loads(compiled["metadata"])
            artifact = {
                "contractName": name,
                "sourceName": source_name,
                "compiler": {"version": metadata["compiler"]["version"], "settings": SETTINGS},
                "abi": compiled["abi"],
                "bytecode": "0x" + compiled["evm"]["bytecode"]["object"],
                "deployedBytecode": "0x" + compiled["evm"]["deployedBytecode"]["object"],
                "metadata": metadata,
            }
            path = out_dir / f"{name}.json"
            path.write_text(_dump(artifact))
            written.append(path)
    return written


def compile_sources(sources: dict[str, str]) -> dict[str, dict]:
    """Compile extra sources (e.g. a test's probe contract) with the same compiler and settings;
    {contract name: {abi, bytecode}}. Imports resolve as for contracts/solidity/."""
    included = {name: {"content": text} for name, text in sources.items()}
    for name, text in sources.items():
        imports = [_resolve(name, target) for target in _IMPORT.findall(text)]
        included.update({k: v for k, v in collect_sources(imports).items() if k not in included} if imports else {})
    input_json = {"language": "Solidity", "sources": dict(sorted(included.items())), "settings": SETTINGS}
    try:
        output = solcx.compile_standard(input_json, solc_binary=solc_binary())
    except solcx.exceptions.SolcError as exc:
        raise CompileError(str(exc)) from None
    return {
        name: {"abi": compiled["abi"], "bytecode": "0x" + compiled["evm"]["bytecode"]["object"]}
        for source_name in sources
        for name, compiled in output["contracts"][source_name].items()
    }


def load_artifact(name: str, artifacts_dir: Path = ARTIFACTS_DIR) -> dict:
    path = artifacts_dir / f"{name}.json"
    if not path.is_file():
        known = sorted(p.stem for p in artifacts_dir.glob("*.json") if p.name != STANDARD_INPUT)
        raise FileNotFoundError(f"no artifact for contract {name!r}; known: {', '.join(known)}")
    return json.loads(path.read_text())
