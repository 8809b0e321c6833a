"""What this machine offers a node: OS, CPUs, memory, container or VM, the qenex_banking device
and its ABI, a TPM, and which balance-cache backend a node would use and why (`qenex doctor`).

Every probe reads a file or calls the standard library; none needs root, and a probe that cannot
tell says "unknown" rather than guessing.
"""

from __future__ import annotations

import os
import platform as stdlib_platform
from dataclasses import asdict, dataclass
from pathlib import Path

from kernel.abi import ABI_VERSION, DEVICE_PATH
from kernel.selector import Candidate, choose

VM_VENDORS = ("qemu", "kvm", "vmware", "virtualbox", "xen", "microsoft", "amazon ec2", "google", "bochs", "parallels")
TPM_DEVICES = ("/dev/tpm0", "/dev/tpmrm0")


@dataclass(frozen=True)
class PlatformReport:
    os: str
    kernel: str
    machine: str
    python: str
    cpu_cores: int
    cpu_cores_usable: int
    memory_bytes: int | None
    container: str | None
    virtual_machine: str | None
    device: str
    device_present: bool
    device_abi: int | None
    node_abi: int
    tpm: list[str]
    cache_backend: str
    cache_reason: str
    cache_candidates: list[Candidate]

    def as_json(self) -> dict[str, object]:
        return asdict(self)


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return None


def os_name() -> str:
    release = _read("/etc/os-release") or ""
    for line in release.splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip().strip('"')
    return f"{stdlib_platform.system()} {stdlib_platform.release()}"


def memory_bytes() -> int | None:
    for line in (_read("/proc/meminfo") or "").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return None


def container() -> str | None:
    """The container runtime this process runs in, if any can be told."""
    runtime = os.environ.get("container")  # set by systemd-nspawn, podman, lxc  # noqa: SIM112
    if runtime:
        return runtime
    if os.path.exists("/.dockerenv"):
        return "docker"
    if os.path.exists("/run/.containerenv"):
        return "podman"
    cgroup = _read("/proc/1/cgroup") or ""
    for marker in ("kubepods", "docker", "lxc", "containerd"):
        if marker in cgroup:
            return marker
    return None


def virtual_machine() -> str | None:
    """The hypervisor's vendor from DMI, or 'unknown hypervisor' when the CPU flags one."""
    for path in ("/sys/class/dmi/id/sys_vendor", "/sys/class/dmi/id/product_name"):
        text = (_read(path) or "").strip().lower()
        for vendor in VM_VENDORS:
            if vendor in text:
                return text
    cpuinfo = _read("/proc/cpuinfo") or ""
    for line in cpuinfo.splitlines():
        if line.startswith("flags") and " hypervisor" in line:
            return "unknown hypervisor (cpu flag)"
    return None


def probe(home: Path | None = None, preference: str = "auto", device_path: str = DEVICE_PATH) -> PlatformReport:
    from kernel.device import device_abi

    present = os.path.exists(device_path)
    choice = choose(home or Path.cwd(), preference, device_path)
    return PlatformReport(
        os=os_name(),
        kernel=stdlib_platform.release(),
        machine=stdlib_platform.machine(),
        python=stdlib_platform.python_version(),
        cpu_cores=os.cpu_count() or 1,
        cpu_cores_usable=len(os.sched_getaffinity(0)),
        memory_bytes=memory_bytes(),
        container=container(),
        virtual_machine=virtual_machine(),
        device=device_path,
        device_present=present,
        device_abi=device_abi(device_path) if present else None,
        node_abi=ABI_VERSION,
        tpm=[path for path in TPM_DEVICES if os.path.exists(path)],
        cache_backend=choice.backend,
        cache_reason=choice.reason,
        cache_candidates=choice.candidates,
    )


def render(report: PlatformReport) -> str:
    """The text `qenex doctor` prints: one fact a line, then what it means for a node."""
    gib = f"{report.memory_bytes / 2**30:.1f} GiB" if report.memory_bytes else "unknown"
    if report.device_present:
        device = f"present, ABI {report.device_abi} (this node speaks ABI {report.node_abi})"
    else:
        device = "absent (load kernel/qenex_kernel.ko for the kernel cache; see docs/kernel.md)"
    lines = [
        f"os:              {report.os} (kernel {report.kernel}, {report.machine})",
        f"python:          {report.python}",
        f"cpu cores:       {report.cpu_cores} ({report.cpu_cores_usable} usable by this process)",
        f"memory:          {gib}",
        f"container:       {report.container or 'none detected'}",
        f"virtual machine: {report.virtual_machine or 'none detected'}",
        f"{report.device}: {device}",
        f"tpm:             {', '.join(report.tpm) if report.tpm else 'none (/dev/tpm0, /dev/tpmrm0 absent)'}",
        f"balance cache:   {report.cache_backend}: {report.cache_reason}",
    ]
    for candidate in report.cache_candidates:
        mark = "yes" if candidate.usable else "no "
        lines.append(f"  {mark} {candidate.backend:<7} {candidate.why}")
    if report.cpu_cores_usable < 2:
        lines.append("note: one usable core: signature recovery and --rpc-workers cannot run in parallel")
    return "\n".join(lines)
