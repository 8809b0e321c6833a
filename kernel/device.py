"""KernelDeviceCache: balances held by the qenex_banking module (/dev/qenex_banking).

KernelDevice speaks the whole ioctl ABI of kernel/qenex_ioctl.h with fcntl.ioctl, every struct
packed from the layouts kernel/abi.py reads out of that header. The cache writes through ioctls
(SET_MANY: one table change per block of up to QENEX_BATCH_MAX balances) and reads through the
read-only mmap of the table under its sequence counter, like any other process on the machine.

The device is one table per machine, so one node owns it: the writer takes an exclusive flock on
the device, and a second node falls back to shared memory (kernel/select.py says so).
"""

from __future__ import annotations

import array
import errno
import fcntl
import mmap
import os
from dataclasses import dataclass
from pathlib import Path

from kernel.abi import ABI, ABI_VERSION, BATCH_MAX, DEVICE_PATH, TABLE_BYTES
from kernel.cache import Balance, BalanceCacheError
from kernel.shared import SharedTableCache
from kernel.table import SlotDirectory, TableReader

_IOC = ABI.ioctls
_VERSION = ABI.structs["qenex_version"]
_CREATE = ABI.structs["qenex_slot_create"]
_BALANCE = ABI.structs["qenex_balance"]
_SET_MANY = ABI.structs["qenex_set_many"]
_TRANSFER = ABI.structs["qenex_transfer"]
_AUDIT_ENTRY = ABI.structs["qenex_audit_entry"]
_AUDIT_READ = ABI.structs["qenex_audit_read"]
SLOT_NO_OVERDRAFT = ABI.const("QENEX_SLOT_NO_OVERDRAFT")


class DeviceError(BalanceCacheError):
    """An ioctl was refused; errno says which rule (see docs/kernel.md)."""

    def __init__(self, operation: str, error: OSError) -> None:
        self.errno = error.errno
        name = errno.errorcode.get(error.errno or 0, "?")
        super().__init__(f"{operation} refused by {DEVICE_PATH}: {name} ({error.strerror})")


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    op: int
    result: int
    slot_a: int
    slot_b: int
    amount: int


class KernelDevice:
    """One open descriptor of /dev/qenex_banking."""

    def __init__(self, path: str = DEVICE_PATH, writable: bool = True) -> None:
        self.path = path
        self.fd = os.open(path, os.O_RDWR if writable else os.O_RDONLY)

    def close(self) -> None:
        os.close(self.fd)

    def _call(self, operation: str, request: int, payload: bytes | bytearray | int = 0) -> bytes:
        try:
            if isinstance(payload, int):
                fcntl.ioctl(self.fd, request, payload)
                return b""
            buffer = bytearray(payload)
            fcntl.ioctl(self.fd, request, buffer, True)
            return bytes(buffer)
        except OSError as error:
            raise DeviceError(operation, error) from None

    def version(self) -> dict[str, int]:
        return _VERSION.unpack(self._call("VERSION", _IOC["QENEX_IOC_VERSION"], bytes(_VERSION.size)))

    def create(self, posted: int, available: int, flags: int = 0) -> int:
        out = self._call(
            "CREATE", _IOC["QENEX_IOC_CREATE"], _CREATE.pack(flags=flags, posted=posted, available=available)
        )
        return _CREATE.unpack(out)["slot"]

    def set(self, slot: int, posted: int, available: int) -> None:
        self._call("SET", _IOC["QENEX_IOC_SET"], _BALANCE.pack(slot=slot, posted=posted, available=available))

    def set_many(self, items: list[tuple[int, int, int]]) -> None:
        """(slot, posted, available) items, at most QENEX_BATCH_MAX: all applied or none."""
        entries = bytearray(b"".join(_BALANCE.pack(slot=s, posted=p, available=a) for s, p, a in items))
        holder = array.array("B", entries)  # a stable address for the pointer in the request
        address, _ = holder.buffer_info()
        self._call("SET_MANY", _IOC["QENEX_IOC_SET_MANY"], _SET_MANY.pack(entries_ptr=address, count=len(items)))

    def get(self, slot: int) -> Balance:
        out = _BALANCE.unpack(self._call("GET", _IOC["QENEX_IOC_GET"], _BALANCE.pack(slot=slot)))
        return Balance(out["posted"], out["available"])

    def transfer(self, debit_slot: int, credit_slot: int, amount: int) -> None:
        payload = _TRANSFER.pack(debit_slot=debit_slot, credit_slot=credit_slot, amount=amount)
        self._call("TRANSFER", _IOC["QENEX_IOC_TRANSFER"], payload)

    def audit(self, since_seq: int = 0, max_entries: int = 256) -> tuple[list[AuditEntry], int]:
        """Entries with seq >= since_seq (the oldest kept first) and the next seq to ask for."""
        holder = array.array("B", bytes(_AUDIT_ENTRY.size * max_entries))
        address, _ = holder.buffer_info()
        request = _AUDIT_READ.pack(since_seq=since_seq, entries_ptr=address, max_entries=max_entries)
        out = _AUDIT_READ.unpack(self._call("AUDIT_READ", _IOC["QENEX_IOC_AUDIT_READ"], request))
        data = holder.tobytes()
        entries = [AuditEntry(**_AUDIT_ENTRY.unpack(data, i * _AUDIT_ENTRY.size)) for i in range(out["count"])]
        return entries, out["next_seq"]

    def reset(self) -> None:
        self._call("RESET", _IOC["QENEX_IOC_RESET"])

    def map_table(self) -> mmap.mmap:
        return mmap.mmap(self.fd, TABLE_BYTES, mmap.MAP_SHARED, mmap.PROT_READ)


def device_abi(path: str = DEVICE_PATH) -> int | None:
    """The ABI version the loaded module speaks, or None if there is no usable device."""
    try:
        device = KernelDevice(path, writable=False)
    except OSError:
        return None
    try:
        return device.version()["abi_version"]
    except DeviceError:
        return None
    finally:
        device.close()


class KernelDeviceCache(SharedTableCache):
    backend = "kernel"

    def __init__(self, directory_path: Path, writer: bool = False, path: str = DEVICE_PATH) -> None:
        try:
            self.device = KernelDevice(path, writable=writer)
        except OSError as error:
            raise BalanceCacheError(f"cannot open {path}: {error.strerror}") from None
        version = self.device.version()["abi_version"]
        if version != ABI_VERSION:
            self.device.close()
            raise BalanceCacheError(f"{path} speaks ABI {version}, this node ABI {ABI_VERSION}")
        if writer:
            try:
                fcntl.flock(self.device.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self.device.close()
                raise BalanceCacheError(f"{path} is already owned by another node") from None
        self._map = self.device.map_table()
        super().__init__(TableReader(memoryview(self._map)), SlotDirectory(directory_path), writer)

    def _reset(self) -> int:
        self.device.reset()
        return self.table.state()[0]

    def _apply(self, existing: list[tuple[int, Balance]], created: list[tuple[int, Balance]]) -> None:
        for start in range(0, len(existing), BATCH_MAX):
            chunk = existing[start : start + BATCH_MAX]
            self.device.set_many([(slot, b.posted, b.available) for slot, b in chunk])
        for slot, balance in created:
            given = self.device.create(balance.posted, balance.available)
            assert given == slot, f"the module gave slot {given}, the directory expected {slot}"

    def close(self) -> None:
        self.table.buffer.release()
        self._map.close()
        self.device.close()

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "device": self.device.path, "abi_version": ABI_VERSION}
