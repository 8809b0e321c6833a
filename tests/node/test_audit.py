"""The hash-chained audit log: any edited, removed, inserted or reordered line is found, by
`verify_log` and by `qenex audit verify` (exit 1 naming the line)."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest
from support.nodes import run_cli

from node.audit import AUDIT_FILE, AuditLog, verify_log


@pytest.fixture
def home(tmp_path: Path) -> Path:
    log = AuditLog(tmp_path)
    for index in range(5):
        log.append(f"op{index}", "admin_nodeInfo", "called", index=index)
    return tmp_path


def _lines(home: Path) -> list[bytes]:
    return (home / AUDIT_FILE).read_bytes().splitlines(keepends=True)


def _write(home: Path, lines: list[bytes]) -> None:
    (home / AUDIT_FILE).write_bytes(b"".join(lines))


def test_an_intact_log_verifies(home):
    assert verify_log(home) == (5, [])
    result = run_cli("audit", "verify", "--home", str(home))
    assert result.returncode == 0 and "5 entries" in result.stdout
    assert ((home / AUDIT_FILE).stat().st_mode & 0o777) == 0o600


def test_an_edited_line_is_found(home):
    lines = _lines(home)
    entry = json.loads(lines[2])
    entry["actor"] = "someone-else"
    lines[2] = json.dumps(entry, sort_keys=True, separators=(",", ":")).encode() + b"\n"
    _write(home, lines)
    _, problems = verify_log(home)
    assert problems[0].line == 3 and "edited" in problems[0].problem
    result = run_cli("audit", "verify", "--home", str(home))
    assert result.returncode == 1 and "line 3" in result.stdout


def test_an_edited_line_with_a_recomputed_hash_is_found_by_the_next_line(home):
    from node.audit import _entry_hash

    lines = _lines(home)
    entry = json.loads(lines[1])
    entry["outcome"] = "forbidden"
    entry["hash"] = _entry_hash(entry)
    lines[1] = json.dumps(entry, sort_keys=True, separators=(",", ":")).encode() + b"\n"
    _write(home, lines)
    _, problems = verify_log(home)
    assert problems[0].line == 3 and "prev" in problems[0].problem


def test_removed_reordered_and_truncated_lines_are_found(home):
    original = _lines(home)
    _write(home, original[:1] + original[2:])
    assert "removed" in verify_log(home)[1][0].problem
    _write(home, [original[0], original[2], original[1], *original[3:]])
    assert verify_log(home)[1][0].line == 2
    _write(home, original[:3])  # the last two lines cut off: only the head file knows
    problems = verify_log(home)[1]
    assert problems and "removed from the end" in problems[0].problem
    _write(home, original)
    assert verify_log(home)[1] == []


def test_appending_continues_the_chain(home):
    AuditLog(home).append("cli:root", "operator.add", "ok", operator="x")
    assert verify_log(home) == (6, [])


def _append_many(home: str, writer: int, count: int) -> None:
    log = AuditLog(Path(home))
    for index in range(count):
        log.append(f"writer-{writer}", "test.append", "ok", index=index)


def test_writers_in_several_processes_keep_one_chain(tmp_path):
    """The node and a CLI tool may append at the same time: the chain stays whole and in order."""
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_append_many, args=(str(tmp_path), w, 25)) for w in range(4)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(60)
        assert writer.exitcode == 0
    assert verify_log(tmp_path) == (100, [])
