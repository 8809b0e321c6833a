"""The operators' audit log: an append-only file of JSON lines, each hashing the one before.

Every login (accepted or refused) and every call of an authenticated RPC method is a line. Line
n carries `prev`, the hash of line n-1, and `hash` = SHA-256 over its own canonical JSON without
`hash`; `seq` counts from 0. So editing a line breaks its hash, removing or reordering lines
breaks `seq` and `prev`, and removing lines from the end is caught by the head file
(`audit.head`: the last seq and hash), written after each append. `qenex audit verify` runs
`verify_log` and names the first line that does not fit.

What it does not do: someone able to rewrite both files consistently can forge history. Copy the
head hash somewhere the node's own user cannot write (a ticket, a WORM store) to close that gap;
docs/security.md "Operator login and audit".
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

AUDIT_FILE = "audit.log"
HEAD_FILE = "audit.head"
LOCK_FILE = "audit.lock"
GENESIS_PREV = "0" * 64
LINE_BYTES_MAX = 16 * 1024  # one entry; longer details are cut, never the chain


def _entry_hash(entry: dict) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _clip(value: object) -> object:
    text = json.dumps(value, default=str)
    return value if len(text) <= LINE_BYTES_MAX // 2 else text[: LINE_BYTES_MAX // 2] + "...(cut)"


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


@dataclass(frozen=True)
class AuditProblem:
    line: int  # 1-based line number in audit.log (0: the head file)
    problem: str

    def __str__(self) -> str:
        return f"audit.log line {self.line}: {self.problem}" if self.line else self.problem


class AuditLog:
    """Appends entries to HOME/audit.log. Writers are the node, its CLI tools (`qenex rpc api-key
    add` while the node runs) and gateways: a thread lock within a process and an flock on
    HOME/audit.lock between processes make reading the last entry and appending the next one a
    single step, so two writers never chain two entries to the same predecessor."""

    def __init__(self, home: Path) -> None:
        self.path = Path(home) / AUDIT_FILE
        self.head_path = Path(home) / HEAD_FILE
        self.lock_path = Path(home) / LOCK_FILE
        self._lock = threading.Lock()

    def _last(self) -> tuple[int, str]:
        """(next seq, prev hash) from the last line of the file."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return 0, GENESIS_PREV
        with open(self.path, "rb") as handle:
            handle.seek(max(0, self.path.stat().st_size - 2 * LINE_BYTES_MAX))
            last = handle.read().rstrip(b"\n").rsplit(b"\n", 1)[-1]
        entry = json.loads(last)
        return entry["seq"] + 1, entry["hash"]

    def append(self, actor: str, action: str, outcome: str = "ok", **detail: object) -> dict:
        """Add one entry (fsynced before returning: an action is logged before it is answered)."""
        with self._lock, _file_lock(self.lock_path):
            seq, prev = self._last()
            entry: dict = {
                "seq": seq,
                "time": round(time.time(), 3),
                "actor": actor,
                "action": action,
                "outcome": outcome,
                "detail": {k: _clip(v) for k, v in detail.items()},
                "prev": prev,
            }
            entry["hash"] = _entry_hash(entry)
            line = json.dumps(entry, sort_keys=True, separators=(",", ":")).encode() + b"\n"
            assert len(line) <= LINE_BYTES_MAX * 2
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
            head = json.dumps({"seq": seq, "hash": entry["hash"]}).encode()
            temporary = self.head_path.with_suffix(".tmp")
            temporary.write_bytes(head)
            os.replace(temporary, self.head_path)
            return entry


def verify_log(home: Path) -> tuple[int, list[AuditProblem]]:
    """(entries checked, problems): empty problems means the log is whole and in order."""
    path = Path(home) / AUDIT_FILE
    head_path = Path(home) / HEAD_FILE
    if not path.exists():
        if head_path.exists():
            return 0, [AuditProblem(0, f"{path} is missing but {head_path} says entries were written")]
        return 0, []
    problems: list[AuditProblem] = []
    prev, expected_seq, count = GENESIS_PREV, 0, 0
    last_hash = GENESIS_PREV
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            count = number
            try:
                entry = json.loads(raw)
                if not isinstance(entry, dict):
                    raise ValueError("not an object")
            except ValueError:
                problems.append(AuditProblem(number, "not a JSON object (edited or truncated)"))
                break
            if entry.get("seq") != expected_seq:
                problems.append(AuditProblem(number, f"seq {entry.get('seq')!r}, expected {expected_seq} "
                                                     "(a line was removed, inserted or reordered)"))  # fmt: skip
                break
            if entry.get("prev") != prev:
                problems.append(AuditProblem(number, "prev does not match the hash of the line before"))
                break
            if entry.get("hash") != _entry_hash(entry):
                problems.append(AuditProblem(number, "hash does not match the line's content (the line was edited)"))
                break
            prev = last_hash = entry["hash"]
            expected_seq += 1
    if problems:
        return count, problems
    if head_path.exists():
        try:
            head = json.loads(head_path.read_text())
        except ValueError:
            return count, [AuditProblem(0, f"{head_path} is not JSON")]
        if head.get("seq") != expected_seq - 1 or head.get("hash") != last_hash:
            problems.append(AuditProblem(0, f"the log ends at seq {expected_seq - 1} but {head_path} records seq "
                                            f"{head.get('seq')}: lines were removed from the end"))  # fmt: skip
    elif count:
        problems.append(AuditProblem(0, f"{head_path} is missing"))
    return count, problems
