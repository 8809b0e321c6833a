"""Chain parameters governance may change, kept as chain records over their genesis values.

Only parameters the node reads from here are listed: changing one by governance
(node/admin.py, SET_PARAM) changes what every validator enforces from the next block on.

  param:<name>   the value (unsigned integer), committed by the state root like every record
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.codec import bytes_to_int, int_to_bytes
from ledger.state import LedgerReader, Overlay

PARAM_PREFIX = b"param:"


@dataclass(frozen=True, slots=True)
class Param:
    low: int
    high: int
    why: str

    def accepts(self, value: int) -> bool:
        return self.low <= value <= self.high


PARAMS: dict[str, Param] = {
    "block.max_transactions": Param(
        1, 100_000, "transactions per block: proposers fill up to it, validators refuse more"
    ),
}


@dataclass(frozen=True, slots=True)
class ParamChange:
    name: str
    value: int


def describe_param_error(change: ParamChange) -> str:
    if change.name not in PARAMS:
        return f"parameter {change.name!r} is not one of {sorted(PARAMS)}"
    p = PARAMS[change.name]
    return f"{change.name} must be in {p.low}..{p.high}, not {change.value}"


def param(state: LedgerReader, name: str, genesis_value: int) -> int:
    """The value in force in `state`: genesis's until governance changed it."""
    assert name in PARAMS, f"unknown chain parameter {name}"
    data = state.record(PARAM_PREFIX + name.encode())
    return genesis_value if data is None else bytes_to_int(data)


def set_param(state: Overlay, change: ParamChange) -> None:
    assert change.name in PARAMS and PARAMS[change.name].accepts(change.value), "checked when proposed"
    state.put_record(PARAM_PREFIX + change.name.encode(), int_to_bytes(change.value))
