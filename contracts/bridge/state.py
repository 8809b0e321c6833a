"""py-evm's Prague state with the ledger bridge: its precompiles, and ledger layers that follow
every snapshot, revert and commit of the EVM state (contracts.bridge.layers)."""

from __future__ import annotations

from functools import cache

from eth.vm.forks.prague import PragueState
from eth.vm.forks.prague.computation import PragueComputation

from contracts.bridge.layers import LedgerLayers
from contracts.bridge.precompiles import precompiles_for


class BridgedState(PragueState):
    """Set `ledger` before a transaction runs (None: the bridge reverts every call)."""

    ledger: LedgerLayers | None = None

    def snapshot(self):  # noqa: ANN201 - py-evm's snapshot type, extended with a layer index
        evm_snapshot = super().snapshot()
        return (*evm_snapshot, self.ledger.push() if self.ledger is not None else 0)

    def revert(self, snapshot) -> None:  # noqa: ANN001
        super().revert(snapshot[:2])
        if self.ledger is not None and snapshot[2]:
            self.ledger.revert(snapshot[2])

    def commit(self, snapshot) -> None:  # noqa: ANN001
        super().commit(snapshot[:2])
        if self.ledger is not None and snapshot[2]:
            self.ledger.commit(snapshot[2])


@cache
def state_class(codes: tuple[str, ...]) -> type[BridgedState]:
    """A state class whose computations know the precompiles of these currencies."""
    computation = type(
        "BridgedComputation",
        (PragueComputation,),
        {"_precompiles": {**PragueComputation.get_precompiles(), **precompiles_for(list(codes))}},
    )
    return type("BridgedPragueState", (BridgedState,), {"computation_class": computation})
