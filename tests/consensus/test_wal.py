"""The signing WAL never lets a restarted validator sign a different value for a signed
(height, round, step), whatever byte a crash cut the log at."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap

import pytest

from consensus.wal import DoubleSignError, SigningWal, WalCorruptError, read_frames


def block(n: int) -> bytes:
    return n.to_bytes(32, "big")


def test_same_value_may_be_signed_again_a_different_one_never(tmp_path):
    wal = SigningWal(tmp_path / "wal")
    wal.record(5, 0, "prevote", block(1))
    wal.record(5, 0, "prevote", block(1))  # re-sending the same vote is fine
    wal.record(5, 0, "precommit", b"")  # nil precommit
    wal.close()
    reopened = SigningWal(tmp_path / "wal")
    with pytest.raises(DoubleSignError, match="height 5 round 0"):
        reopened.record(5, 0, "prevote", block(2))
    with pytest.raises(DoubleSignError):
        reopened.record(5, 0, "precommit", block(1))
    assert reopened.sign_allowed(5, 1, "prevote", block(2))
    reopened.record(5, 1, "prevote", block(2))
    assert not reopened.sign_allowed(5, 1, "prevote", block(3))


def test_a_crash_at_any_byte_recovers_a_prefix_and_keeps_refusing(tmp_path):
    path = tmp_path / "wal"
    wal = SigningWal(path)
    records = [
        (h, r, step, block(h * 10 + r)) for h in range(1, 4) for r in range(2) for step in ("prevote", "precommit")
    ]
    for record in records:
        wal.record(*record)
    wal.close()
    full = path.read_bytes()
    _, ends, _ = read_frames(full)
    assert ends == len(full)
    frame_ends = []
    position = 0
    while position < len(full):
        position += 8 + int.from_bytes(full[position : position + 4], "big")
        frame_ends.append(position)
    for cut in range(len(full) + 1):
        path.write_bytes(full[:cut])
        recovered = SigningWal(path)
        complete = sum(1 for end in frame_ends if end <= cut)
        assert len(recovered.signed) == complete
        assert path.stat().st_size == (frame_ends[complete - 1] if complete else 0)
        for h, r, step, value in records[:complete]:
            with pytest.raises(DoubleSignError):
                recovered.record(h, r, step, value + b"x")
        recovered.record(99, 0, "prevote", block(99))  # appends continue from the clean end
        recovered.close()
        assert len(SigningWal(path).signed) == complete + 1


def test_damage_with_records_after_it_is_refused_not_truncated(tmp_path):
    path = tmp_path / "wal"
    wal = SigningWal(path)
    for h in range(1, 6):
        wal.record(h, 0, "prevote", block(h))
    wal.close()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(WalCorruptError, match="damaged"):
        SigningWal(path)
    assert path.read_bytes() == bytes(data)  # nothing was thrown away


def test_prune_below_keeps_recent_heights_durably(tmp_path):
    path = tmp_path / "wal"
    wal = SigningWal(path)
    for h in range(1, 6):
        wal.record(h, 0, "precommit", block(h))
    wal.prune_below(4)
    wal.record(6, 0, "precommit", block(6))
    wal.close()
    assert sorted(k[0] for k in SigningWal(path).signed) == [4, 5, 6]


CHILD = textwrap.dedent(
    """
    import sys
    from consensus.wal import SigningWal
    wal = SigningWal(sys.argv[1])
    height = int(sys.argv[2])
    while True:
        for step in ("prevote", "precommit"):
            wal.record(height, 0, step, height.to_bytes(32, "big"))
            print(height, step, flush=True)  # "sent": only after the record is durable
        height += 1
    """
)


def test_sigkill_of_a_signing_process_never_forgets_a_sent_vote(tmp_path):
    path = tmp_path / "wal"
    rng = random.Random(7)
    height = 1
    sent: list[tuple[int, str]] = []
    for _ in range(4):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path), str(height)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=os.getcwd(),
        )
        for _ in range(rng.randrange(5, 60)):
            h, step = child.stdout.readline().split()
            sent.append((int(h), step))
        child.send_signal(signal.SIGKILL)
        child.wait()
        wal = SigningWal(path)
        for h, step in sent:
            with pytest.raises(DoubleSignError):
                wal.record(h, 0, step, b"\x01" * 32)
        height = max(key[0] for key in wal.signed) + 1
        wal.close()
