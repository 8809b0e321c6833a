"""A real browser for tests: Debian's Chromium driven by Playwright (npm playwright-core).

Nothing is downloaded from outside the registries: Chromium comes from apt (installed here
when missing and we run as root, as CI does), playwright-core from npm into a project-local
directory, and Playwright is pointed at /usr/bin/chromium (it never fetches a browser).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
NODE_MODULES_HOME = REPO / ".cache" / "browser"  # gitignored
PLAYWRIGHT_SPEC = "playwright-core@1"


def _unavailable(reason: str) -> None:
    """In CI a missing browser is a failure (the test must run there); elsewhere a skip."""
    if os.environ.get("CI"):
        pytest.fail(f"browser test cannot run in CI: {reason}")
    pytest.skip(reason)


def ensure_chromium() -> Path:
    if not CHROMIUM.exists() and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-q"], check=False, capture_output=True, env=env, timeout=600)
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "chromium"], check=False, capture_output=True, env=env, timeout=900
        )
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing; install Debian's package: apt-get install -y chromium")
    return CHROMIUM


def ensure_playwright() -> Path:
    """The node_modules directory holding playwright-core (npm install on first use)."""
    modules = NODE_MODULES_HOME / "node_modules"
    if not (modules / "playwright-core" / "package.json").exists():
        if shutil.which("npm") is None or shutil.which("node") is None:
            _unavailable("node and npm are needed to drive the browser (apt-get install -y nodejs npm)")
        NODE_MODULES_HOME.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--no-save", "--prefix", str(NODE_MODULES_HOME),
             PLAYWRIGHT_SPEC],
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"},
        )  # fmt: skip
        if result.returncode != 0:
            _unavailable(f"npm install {PLAYWRIGHT_SPEC} failed: {result.stderr[-2000:]}")
    return modules


def run_browser_script(script: Path, arguments: dict, timeout: float = 120) -> dict:
    """Run a Node.js Playwright script with `arguments` (JSON in argv); its last stdout line is JSON."""
    chromium = ensure_chromium()
    modules = ensure_playwright()
    result = subprocess.run(
        ["node", str(script), json.dumps({**arguments, "executable": str(chromium)})],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "NODE_PATH": str(modules)},
    )
    if result.returncode != 0:
        raise AssertionError(f"browser script failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])
