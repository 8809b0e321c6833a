"""Weighted round-robin proposer selection: CometBFT's proposer-priority algorithm.

Each step adds every validator's power to its priority, picks the highest priority (ties to the
lowest address) as proposer and subtracts the total power from the winner. Over any window a
validator proposes in proportion to its power, and no two honest nodes can disagree on who
proposes, since the sequence is a pure function of the validator set. As in CometBFT, priorities
are re-centred around zero and rescaled when they spread beyond twice the total power, so they
stay bounded forever.

Step k of the sequence is (height - 1) + round: each height and each extra round advances the
schedule by one, as CometBFT increments priorities once per block and once per round.
"""

from __future__ import annotations

from consensus.commit import ValidatorSet

PRIORITY_WINDOW_FACTOR = 2
_SCHEDULES: dict[tuple[tuple[str, int], ...], tuple[list[str], list[int]]] = {}  # memo: key -> (proposers, priorities)


def _div_trunc(a: int, b: int) -> int:
    """Go's integer division (truncates toward zero), which CometBFT's rescaling uses."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def _advance(addresses: list[str], powers: list[int], priorities: list[int], total: int) -> str:
    """One IncrementProposerPriority(1): rescale, centre, add power, pick, subtract total."""
    diff_max = PRIORITY_WINDOW_FACTOR * total
    spread = max(priorities) - min(priorities)
    if spread > diff_max:
        ratio = -(-spread // diff_max)
        priorities[:] = [_div_trunc(p, ratio) for p in priorities]
    average = sum(priorities) // len(priorities)
    priorities[:] = [p - average + power for p, power in zip(priorities, powers, strict=True)]
    best = 0
    for index in range(1, len(addresses)):
        if priorities[index] > priorities[best] or (
            priorities[index] == priorities[best] and addresses[index] < addresses[best]
        ):
            best = index
    priorities[best] -= total
    return addresses[best]


def proposer_at(validators: ValidatorSet, step: int) -> str:
    """The proposer at position `step` (0-based) of the schedule; memoised, so cheap to call again."""
    if step < 0:
        raise ValueError(f"schedule step must be >= 0, not {step}")
    key = tuple(sorted(validators.powers.items()))
    addresses = [address for address, _ in key]
    powers = [power for _, power in key]
    proposers, priorities = _SCHEDULES.setdefault(key, ([], [0] * len(key)))
    while len(proposers) <= step:
        proposers.append(_advance(addresses, powers, priorities, validators.total_power))
    return proposers[step]


def proposer(validators: ValidatorSet, height: int, round_: int) -> str:
    """proposer(h, r) of Algorithm 1 (lower-case address, as ValidatorSet stores them)."""
    if height < 1 or round_ < 0:
        raise ValueError(f"no proposer for height {height}, round {round_}")
    return proposer_at(validators, height - 1 + round_)
