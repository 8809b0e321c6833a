"""Readers in other processes never see torn values: while this process moves money between
accounts (each update one table change conserving the total), reader processes take snapshots
of every account through the sequence counter, and each snapshot must sum to the total."""

import json
import subprocess
import sys
import time

from kernel.cache import Balance
from kernel.shm import SharedMemoryCache

ACCOUNTS = 64
TOTAL = ACCOUNTS * 1_000_000

READER = """
import json, sys, time
from pathlib import Path
from kernel.shm import SharedMemoryCache
cache = SharedMemoryCache(Path(sys.argv[1]), Path(sys.argv[2]), writer=False)
keys = [f"GL:T:{i}" for i in range(int(sys.argv[3]))]
total, deadline = int(sys.argv[4]), time.monotonic() + float(sys.argv[5])
snapshots = bad = changes_seen = 0
last = None
while time.monotonic() < deadline:
    values = cache.get_many(keys)
    snapshots += 1
    if sum(v.posted for v in values) != total or sum(v.available for v in values) != total:
        bad += 1
    changes_seen += values != last
    last = values
print(json.dumps({"snapshots": snapshots, "bad": bad, "changes_seen": changes_seen}))
"""


def test_readers_in_other_processes_never_see_a_torn_update(tmp_path):
    table, directory = tmp_path / "t.table", tmp_path / "slots"
    keys = [f"GL:T:{i}" for i in range(ACCOUNTS)]
    writer = SharedMemoryCache(table, directory, writer=True)
    balances = {key: Balance(1_000_000, 1_000_000) for key in keys}
    writer.load(balances)
    readers = [
        subprocess.Popen(
            [sys.executable, "-c", READER, str(table), str(directory), str(ACCOUNTS), str(TOTAL), "2.5"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    updates = 0
    deadline = time.monotonic() + 3.0
    step = 0
    while time.monotonic() < deadline:
        # move an amount around a ring of accounts: every account changes, the total does not
        step += 1
        amount = 1 + step % 997
        shifted = {key: balances[key].posted + (amount if i % 2 else -amount) for i, key in enumerate(keys)}
        balances = {key: Balance(value, value) for key, value in shifted.items()}
        assert sum(b.posted for b in balances.values()) == TOTAL
        writer.update(balances)
        updates += 1
    results = [json.loads(reader.communicate(timeout=30)[0]) for reader in readers]
    writer.close()
    assert updates > 100
    for result in results:
        assert result["snapshots"] > 100, result
        assert result["changes_seen"] > 10, result  # the reader really watched the table move
        assert result["bad"] == 0, result
