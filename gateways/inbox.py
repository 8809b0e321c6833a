"""A drop folder, as legacy file transfers deliver payments: each message file put in the inbox is
submitted, then moved to done/ (with the transaction hashes and the pacs.002) or to rejected/ (with the
reasons), so an operator sees at a glance what happened to every file.

Restarts never book twice: a file stays in the inbox until its outcome is written, and submitting it
again after a crash finds its transfers already booked (transfer ids come from the message) and
reports them as duplicates. A file still being written is left alone: names starting with '.' or
ending in .tmp/.part are skipped (the usual write-then-rename convention), and so is a file modified
within the last `settle_seconds`. A file larger than the limit is rejected unread. While the node
cannot be reached, files stay where they are and are tried again on the next scan.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gateways.problems import MessageError
from gateways.submit import GatewayError, PersonalDataNotSealed, Submitter, status_report

DONE, REJECTED = "done", "rejected"
SKIPPED_SUFFIXES = (".tmp", ".part")
DEFAULT_MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_FILES_PER_SCAN = 1000


@dataclass(frozen=True, slots=True)
class FileResult:
    name: str
    folder: str  # "done", "rejected", or "" when left in the inbox (node unreachable)
    detail: str


def _free_name(folder: Path, name: str) -> Path:
    """`name` in `folder`, or name.1, name.2 ... when a file of that name was delivered before."""
    target = folder / name
    counter = 0
    while target.exists() or target.with_name(target.name + ".result.json").exists():
        counter += 1
        target = folder / f"{name}.{counter}"
    return target


class Inbox:
    """One inbox directory and the submitter that books what arrives in it."""

    def __init__(
        self,
        directory: Path,
        submitter: Submitter,
        pacs002_version: str,
        settle_seconds: float = 1.0,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.directory = directory
        self.submitter = submitter
        self.pacs002_version = pacs002_version
        self.settle_seconds = settle_seconds
        self.max_file_bytes = max_file_bytes
        self.log = log or (lambda text: None)
        for folder in (directory, directory / DONE, directory / REJECTED):
            folder.mkdir(parents=True, exist_ok=True)

    def pending(self) -> list[Path]:
        """Files ready to be processed, oldest first (at most MAX_FILES_PER_SCAN per scan)."""
        now = time.time()
        ready = []
        for path in self.directory.iterdir():
            name = path.name
            if name.startswith(".") or name.endswith(SKIPPED_SUFFIXES) or not path.is_file():
                continue
            try:
                modified = path.stat().st_mtime
            except OSError:
                continue  # moved away meanwhile
            if now - modified >= self.settle_seconds:
                ready.append((modified, name, path))
        return [path for _, _, path in sorted(ready)[:MAX_FILES_PER_SCAN]]

    def scan(self) -> list[FileResult]:
        """Process every ready file once; the results say where each went."""
        return [self.process(path) for path in self.pending()]

    def _finish(self, path: Path, folder: str, result: dict, report: bytes | None) -> FileResult:
        target = _free_name(self.directory / folder, path.name)
        # Outcome first, then the move: a crash in between leaves the file in the inbox, and the
        # next scan re-submits it (duplicates, nothing booked twice) and writes a fresh outcome.
        target.with_name(target.name + ".result.json").write_text(json.dumps(result, indent=2) + "\n")
        if report is not None:
            target.with_name(target.name + ".pacs002.xml").write_bytes(report)
        path.replace(target)
        detail = "; ".join(result.get("reasons", [])) or f"{len(result.get('payments', []))} payment(s)"
        self.log(f"{path.name} -> {folder}/{target.name}: {detail}")
        return FileResult(path.name, folder, detail)

    def process(self, path: Path) -> FileResult:
        try:
            size = path.stat().st_size
            if size > self.max_file_bytes:
                reason = f"(file): size: {size} bytes, more than the inbox limit of {self.max_file_bytes}"
                return self._finish(path, REJECTED, {"reasons": [reason]}, None)
            data = path.read_bytes()
        except OSError as error:
            return FileResult(path.name, "", f"cannot read: {error}")
        try:
            outcomes = self.submitter.submit(data, wait=True)
        except MessageError as error:
            return self._finish(path, REJECTED, {"reasons": [p.line() for p in error.problems]}, None)
        except PersonalDataNotSealed as error:  # no party bank key, or the node refused the envelope
            return self._finish(path, REJECTED, {"reasons": [str(error)]}, None)
        except GatewayError as error:
            self.log(f"{path.name}: left in the inbox: {error}")
            return FileResult(path.name, "", str(error))
        result: dict = {"payments": [{"state": o.state, **o.line()} for o in outcomes]}
        failed = [o for o in outcomes if not o.ok]
        if failed:
            result["reasons"] = [f"{o.payment.path}: {o.state}: {o.rule or o.message}" for o in failed]
        report = status_report(data, outcomes, self.pacs002_version)
        return self._finish(path, REJECTED if failed else DONE, result, report)
