"""The module's VM test: `make -C kernel vm-test` builds qenex_kernel.ko against a Debian kernel's
headers, boots that kernel under qemu and runs the static client (kernel/test/qenex_client.c), then
this interpreter's tests/kernel/test_backends.py against the device (the VM mounts this machine's
root read-only over 9p).

It installs what it lacks from Debian apt, which needs root; CI runs as root with CI=true and must
run it. Elsewhere it runs when the tools are already installed and skips, saying why, otherwise.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kernel.abi import ABI

KERNEL = Path(__file__).resolve().parents[2] / "kernel"
TOOLS = ("qemu-system-x86_64", "busybox", "cpio", "gcc", "make", "dpkg-deb")


def _can_run() -> str | None:
    """None when the VM test can run here, else the reason it cannot."""
    if os.environ.get("CI") == "true" or os.geteuid() == 0:
        return None
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if not any(Path("/usr/src").glob("linux-headers-*-amd64")):
        missing.append("linux-headers-amd64")
    if missing:
        return f"not root and not CI, and {', '.join(missing)} missing: cannot install them from apt"
    return None


@pytest.mark.slow
@pytest.mark.timeout(900)  # software emulation: the node end-to-end part alone takes a minute or two
def test_module_passes_its_vm_test():
    reason = _can_run()
    if reason:
        pytest.skip(reason)
    result = subprocess.run(
        ["make", "-C", str(KERNEL), "vm-test", f"QENEX_VM_PYTHON={sys.executable}"],
        capture_output=True,
        text=True,
        timeout=720,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "QENEX-VM-TEST: PASS" in output
    assert "not ok" not in output
    # the Python backend suite ran inside the VM against the real device, and passed
    assert re.search(r"^PY \d+ passed", output, re.M), output[-3000:]
    # every ioctl of the header was exercised by the client
    client = (KERNEL / "test" / "qenex_client.c").read_text()
    ioctls = list(ABI.ioctls)
    assert len(ioctls) == 8
    for name in ioctls:
        assert name in client, f"{name} is not exercised by the VM client"
