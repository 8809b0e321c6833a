"""The signing write-ahead log: what this validator signed, on disk before it is sent.

A validator that signs two different blocks for the same height, round and step is
equivocating, and a crash must not make an honest one do so: after a restart it no longer
remembers what it sent. So every proposal and vote is appended here and fsynced *before* it
leaves the node (CometBFT's privval "last sign state" and consensus WAL), and on start the log
is replayed into a `SignGuard` that refuses a different value for a (height, round, step) it
already signed, while allowing the same one to be sent again.

Format: frames of  u32 length | u32 crc32(payload) | payload  (payload: RLP record). A crash
mid-append leaves a torn last frame; replay stops at the first frame that is short or fails
its checksum and truncates the file there, so appends continue from a clean end. Records and
the file are bounded.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass
from pathlib import Path

from ledger import rlp_decode, rlp_encode
from ledger.codec import bytes_to_int, int_to_bytes

FRAME_HEADER = 8
MAX_RECORD_BYTES = 64 * 1024
STEPS = ("proposal", "prevote", "precommit")


class DoubleSignError(RuntimeError):
    """Signing this would contradict what the log says this validator already signed."""


class WalCorruptError(RuntimeError):
    """A frame in the middle of the log is damaged (not a torn tail): needs an operator."""


@dataclass(frozen=True, slots=True)
class SignedRecord:
    height: int
    round: int
    step: str  # one of STEPS
    block_id: bytes  # b"" for a nil vote

    def encode(self) -> bytes:
        return rlp_encode.encode(
            [int_to_bytes(self.height), int_to_bytes(self.round), self.step.encode(), self.block_id]
        )

    @classmethod
    def decode(cls, payload: bytes) -> SignedRecord:
        fields = rlp_decode.decode(payload, 2)
        if not isinstance(fields, list) or len(fields) != 4 or not all(isinstance(f, bytes) for f in fields):
            raise ValueError("a signed record is [height, round, step, block_id]")
        step = fields[2].decode()
        if step not in STEPS:
            raise ValueError(f"unknown step {step!r}")
        return cls(bytes_to_int(fields[0]), bytes_to_int(fields[1]), step, fields[3])


def _frame(payload: bytes) -> bytes:
    return len(payload).to_bytes(4, "big") + zlib.crc32(payload).to_bytes(4, "big") + payload


def read_frames(data: bytes) -> tuple[list[bytes], int, bool]:
    """The payloads of the intact frames at the start of `data`, where they end, and whether
    what follows is a torn last append (True) rather than damage with data after it (False)."""
    payloads: list[bytes] = []
    position = 0
    while position < len(data):
        if position + FRAME_HEADER > len(data):
            return payloads, position, True  # a header cut short: the last append was torn
        length = int.from_bytes(data[position : position + 4], "big")
        checksum = int.from_bytes(data[position + 4 : position + 8], "big")
        end = position + FRAME_HEADER + length
        if length > MAX_RECORD_BYTES:
            return payloads, position, False
        if end > len(data):
            return payloads, position, True  # the payload cut short
        payload = data[position + FRAME_HEADER : end]
        if zlib.crc32(payload) != checksum:
            return payloads, position, end == len(data)  # torn only if nothing follows it
        payloads.append(payload)
        position = end
    return payloads, position, True


class SigningWal:
    """Append-only, fsynced log of signed records, and the guard rebuilt from it."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = self.path.read_bytes() if self.path.exists() else b""
        payloads, clean_end, torn_tail = read_frames(data)
        self.truncated_bytes = len(data) - clean_end
        if not torn_tail:
            raise WalCorruptError(
                f"{self.path} is damaged at byte {clean_end} with {self.truncated_bytes} bytes after it; "
                "restore it from a backup or move it aside only if this validator certainly signed nothing since"
            )
        self.signed: dict[tuple[int, int, str], bytes] = {}
        for payload in payloads:
            record = SignedRecord.decode(payload)
            self.signed[(record.height, record.round, record.step)] = record.block_id
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600)
        os.ftruncate(self._fd, clean_end)
        os.lseek(self._fd, clean_end, os.SEEK_SET)
        os.fsync(self._fd)
        self._fsync_directory()

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def sign_allowed(self, height: int, round_: int, step: str, block_id: bytes) -> bool:
        """True if signing this repeats or extends what was signed; False if it would contradict it."""
        previous = self.signed.get((height, round_, step))
        return previous is None or previous == block_id

    def record(self, height: int, round_: int, step: str, block_id: bytes) -> None:
        """Durably record the intent to sign; raise DoubleSignError if it contradicts the log.

        Call before the signature leaves the process: once this returns, a crash and restart
        will still refuse any other block for this height, round and step.
        """
        if step not in STEPS:
            raise ValueError(f"step must be one of {STEPS}")
        key = (height, round_, step)
        previous = self.signed.get(key)
        if previous is not None:
            if previous != block_id:
                raise DoubleSignError(
                    f"already signed {step} for height {height} round {round_} on "
                    f"{previous.hex() or 'nil'}; refusing {block_id.hex() or 'nil'}"
                )
            return
        os.write(self._fd, _frame(SignedRecord(height, round_, step, block_id).encode()))
        os.fsync(self._fd)
        self.signed[key] = block_id

    def prune_below(self, height: int) -> None:
        """Forget heights below `height` (committed long ago), rewriting the file atomically."""
        kept = {k: v for k, v in self.signed.items() if k[0] >= height}
        temporary = self.path.with_suffix(".tmp")
        with open(temporary, "wb") as handle:
            for (h, r, step), block_id in sorted(kept.items()):
                handle.write(_frame(SignedRecord(h, r, step, block_id).encode()))
            handle.flush()
            os.fsync(handle.fileno())
        self.close()
        os.replace(temporary, self.path)
        self._fsync_directory()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        self.signed = kept

    def _fsync_directory(self) -> None:
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
