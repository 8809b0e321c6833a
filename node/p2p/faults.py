"""Crash points for fault tests: QENEX_CRASH_AT=<point> makes the node SIGKILL itself the first
time it reaches that point, exactly as a power cut would (no cleanup, no flush beyond what was
already fsynced). CometBFT's consensus tests do the same with its `fail` package.

Points, in the order the driver passes them for each batch of actions:
  commit:before_store   a block was decided, before the write batch
  commit:after_store    after the write batch, before the consensus state is saved
  <kind>:before_wal     <kind> = proposal | prevote | precommit: signed, nothing durable yet
  <kind>:after_wal      recorded in the signing WAL, consensus state not yet saved
  <kind>:after_state    consensus state saved, message not yet handed to the network
"""

from __future__ import annotations

import os
import signal

CRASH_VARIABLE = "QENEX_CRASH_AT"
KINDS = ("proposal", "prevote", "precommit")
MOMENTS = ("before_wal", "after_wal", "after_state")
CRASH_POINTS = ("commit:before_store", "commit:after_store", *(f"{k}:{m}" for k in KINDS for m in MOMENTS))


def crash_point(name: str) -> None:
    """Die here if the environment asks for it (a no-op in normal operation)."""
    if os.environ.get(CRASH_VARIABLE) == name:
        os.kill(os.getpid(), signal.SIGKILL)
