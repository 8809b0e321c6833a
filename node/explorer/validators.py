"""Validator liveness from the chain itself: who signed each recent block's commit.

A commit certificate (the block's `commit` field) holds the precommit signatures that decided
it; a validator absent from it missed that block. This is what operators watch to see a bank's
validator falling behind before the consortium loses its quorum margin.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from consensus.commit import commit_signers
from node.chain import Chain

DEFAULT_WINDOW = 100
MAX_WINDOW = 1000
_CACHE_BLOCKS = 2 * MAX_WINDOW


@dataclass(frozen=True)
class ValidatorStats:
    name: str
    address: str
    power: int
    last_signed_height: int | None
    signed_blocks: int
    missed_blocks: int
    proposed_blocks: int

    @property
    def uptime_basis_points(self) -> int:
        """Signed share of the window in 1/10,000 (integers: no float rounding in the report)."""
        total = self.signed_blocks + self.missed_blocks
        return 10_000 if total == 0 else self.signed_blocks * 10_000 // total


class SignerIndex:
    """Signers per block, recovered once and kept for the last blocks (bounded cache)."""

    def __init__(self, chain: Chain) -> None:
        self.chain = chain
        self._signers: OrderedDict[int, frozenset[str]] = OrderedDict()

    def signers(self, number: int) -> frozenset[str]:
        cached = self._signers.get(number)
        if cached is not None:
            return cached
        block = self.chain.block(number)
        deciding = self.chain.validators_at(number)  # the set changes on chain (node/governance.py)
        found = frozenset(s.lower() for s in commit_signers(block.hash, block.commit, deciding))
        self._signers[number] = found
        while len(self._signers) > _CACHE_BLOCKS:
            self._signers.popitem(last=False)
        return found

    def stats(self, window: int = DEFAULT_WINDOW) -> tuple[int, int, list[ValidatorStats]]:
        """(first, last, stats) over blocks first..last, the last `window` blocks after genesis."""
        if not 1 <= window <= MAX_WINDOW:
            raise ValueError(f"window must be 1..{MAX_WINDOW} blocks, not {window}")
        last = self.chain.height
        first = max(1, last - window + 1)
        numbers = range(first, last + 1)
        signed_by = {n: self.signers(n) for n in numbers}
        proposers = {n: "0x" + self.chain.header(n).proposer.hex() for n in numbers}
        members = {n: self.chain.validators_at(n).powers for n in numbers}  # lower-case address -> power
        current = self.chain.validators_at(last + 1).powers
        genesis = self.chain.genesis
        names = {node.address.lower(): (node.name, node.address) for node in (*genesis.validators, *genesis.full_nodes)}
        # today's validators first, then those that left during the window
        addresses = list(current) + [a for n in numbers for a in members[n] if a not in current]
        result = []
        for address in dict.fromkeys(addresses):
            name, spelled = names.get(address, (address, address))
            duty = [n for n in numbers if address in members[n]]  # blocks it was a validator for
            signed = [n for n in duty if address in signed_by[n]]
            result.append(
                ValidatorStats(
                    name=name,
                    address=spelled,
                    power=current.get(address, 0),
                    last_signed_height=signed[-1] if signed else self._last_signed_before(address, first),
                    signed_blocks=len(signed),
                    missed_blocks=len(duty) - len(signed),
                    proposed_blocks=sum(1 for n in numbers if proposers[n] == address),
                )
            )
        return first, last, result

    def _last_signed_before(self, address: str, first: int) -> int | None:
        """Look further back than the window, but no further than the cache bound."""
        for number in range(first - 1, max(0, first - 1 - MAX_WINDOW), -1):
            if address in self.signers(number):
                return number
        return None
