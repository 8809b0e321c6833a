"""Which balance-cache backend a node uses, and why.

Order of preference: the kernel module's device (shared, and writes are checked by the module),
POSIX shared memory (shared), the in-process dict (not shared: RPC workers cannot start). The
config (`qenex node run --cache BACKEND`) can force one; a forced backend that cannot be used is
an error, never a silent downgrade. The choice is written to <home>/cache/backend.json, so that
readers (RPC workers, `qenex cache verify`) open the very table the node writes.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kernel.abi import ABI_VERSION, DEVICE_PATH
from kernel.cache import BalanceCache, BalanceCacheError, InProcessCache

BACKENDS = ("kernel", "shm", "memory")
CHOICES = ("auto", *BACKENDS)
SHM_ROOT = Path("/dev/shm")
TSO_MACHINES = {"x86_64", "amd64", "i686", "i386"}


@dataclass(frozen=True)
class CachePaths:
    directory: Path  # account id -> slot
    shm_table: Path
    choice: Path  # backend.json

    @classmethod
    def of(cls, home: Path) -> CachePaths:
        home = home.resolve()
        state = home / "cache"
        tag = hashlib.sha256(str(home).encode()).hexdigest()[:16]
        root = SHM_ROOT if SHM_ROOT.is_dir() and os.access(SHM_ROOT, os.W_OK) else state
        return cls(state / "slots", root / f"qenex-{tag}.table", state / "backend.json")


@dataclass(frozen=True)
class Candidate:
    backend: str
    usable: bool
    why: str


@dataclass(frozen=True)
class CacheChoice:
    backend: str
    reason: str
    candidates: list[Candidate] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return asdict(self)


def _kernel_candidate(device_path: str) -> Candidate:
    from kernel.device import device_abi

    if not os.path.exists(device_path):
        return Candidate("kernel", False, f"{device_path} does not exist (the qenex_banking module is not loaded)")
    version = device_abi(device_path)
    if version is None:
        return Candidate("kernel", False, f"{device_path} exists but cannot be opened or does not answer VERSION")
    if version != ABI_VERSION:
        return Candidate("kernel", False, f"{device_path} speaks ABI {version}, this node speaks ABI {ABI_VERSION}")
    if not os.access(device_path, os.W_OK):
        return Candidate("kernel", False, f"{device_path} (ABI {version}) is not writable by this user")
    return Candidate("kernel", True, f"{device_path} answers with ABI {version}")


def _shm_candidate(paths: CachePaths) -> Candidate:
    machine = platform.machine().lower()
    if machine not in TSO_MACHINES:
        return Candidate("shm", False, f"{machine} is not x86: the lock-free readers rely on x86 store ordering")
    where = paths.shm_table.parent
    if where == SHM_ROOT:
        return Candidate("shm", True, f"POSIX shared memory in {where}")
    return Candidate("shm", True, f"{SHM_ROOT} is not writable; a mapped file in {where}")


def candidates(home: Path, device_path: str = DEVICE_PATH) -> list[Candidate]:
    paths = CachePaths.of(home)
    return [
        _kernel_candidate(device_path),
        _shm_candidate(paths),
        Candidate("memory", True, "a dict inside the node process (other processes cannot read it)"),
    ]


def choose(home: Path, preference: str = "auto", device_path: str = DEVICE_PATH) -> CacheChoice:
    """The backend a node of `home` would use with `preference`, and why; opens nothing for long."""
    if preference not in CHOICES:
        raise ValueError(f"cache backend {preference!r} is not one of {', '.join(CHOICES)}")
    found = candidates(home, device_path)
    if preference != "auto":
        candidate = next(c for c in found if c.backend == preference)
        if not candidate.usable:
            raise BalanceCacheError(f"cache backend {preference} was asked for but is unusable: {candidate.why}")
        return CacheChoice(preference, f"forced by configuration; {candidate.why}", found)
    for candidate in found:
        if candidate.usable:
            skipped = "; ".join(
                f"not {c.backend}: {c.why}" for c in found if c.backend != candidate.backend and not c.usable
            )
            return CacheChoice(candidate.backend, candidate.why + (f" ({skipped})" if skipped else ""), found)
    raise AssertionError("the memory backend is always usable")


def open_writer(
    home: Path, preference: str = "auto", device_path: str = DEVICE_PATH
) -> tuple[BalanceCache, CacheChoice]:
    """The node's cache: chosen, opened for writing, the choice recorded for readers."""
    paths = CachePaths.of(home)
    choice = choose(home, preference, device_path)
    cache: BalanceCache
    if choice.backend == "kernel":
        from kernel.device import KernelDeviceCache

        try:
            cache = KernelDeviceCache(paths.directory, writer=True, path=device_path)
        except BalanceCacheError as error:
            if preference == "kernel":
                raise
            # another node owns the device: shared memory is the next best
            choice = CacheChoice("shm", f"{error}; falling back to shared memory", choice.candidates)
    if choice.backend == "shm":
        from kernel.shm import SharedMemoryCache

        cache = SharedMemoryCache(paths.shm_table, paths.directory, writer=True)
    elif choice.backend == "memory":
        cache = InProcessCache()
    paths.choice.parent.mkdir(parents=True, exist_ok=True)
    paths.choice.write_text(
        json.dumps({"backend": choice.backend, "table": str(paths.shm_table), "device": device_path})
    )
    return cache, choice


def recorded_backend(home: Path) -> str | None:
    """The backend the node of `home` chose when it last started."""
    try:
        return json.loads(CachePaths.of(home).choice.read_text()).get("backend")
    except (FileNotFoundError, ValueError):
        return None


def open_reader(home: Path) -> BalanceCache:
    """A read-only view of the cache the node of `home` writes (for RPC workers and the CLI)."""
    paths = CachePaths.of(home)
    try:
        recorded = json.loads(paths.choice.read_text())
    except FileNotFoundError:
        raise BalanceCacheError(f"no balance cache recorded in {paths.choice}: has the node started?") from None
    backend = recorded.get("backend")
    if backend == "kernel":
        from kernel.device import KernelDeviceCache

        return KernelDeviceCache(paths.directory, writer=False, path=recorded.get("device", DEVICE_PATH))
    if backend == "shm":
        from kernel.shm import SharedMemoryCache

        return SharedMemoryCache(Path(recorded["table"]), paths.directory, writer=False)
    raise BalanceCacheError(f"the node's cache backend is {backend!r}, which other processes cannot read")
