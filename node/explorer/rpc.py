"""qenex_getValidatorStats: the validator page's figures over JSON-RPC (also for scripts)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from node.explorer.validators import DEFAULT_WINDOW, MAX_WINDOW, SignerIndex
from node.rpc.errors import invalid_params
from node.rpc.serialize import qty

if TYPE_CHECKING:
    from node.service import Node


class ValidatorStatsMethod:
    """params: [window?] (blocks, 1..1000, default 100). Uptime is a decimal percentage string."""

    def __init__(self, node: Node) -> None:
        self.index = SignerIndex(node.chain)

    def __call__(self, params: list) -> dict:
        window = params[0] if params else DEFAULT_WINDOW
        if not isinstance(window, int) or isinstance(window, bool) or not 1 <= window <= MAX_WINDOW:
            raise invalid_params(f"window must be an integer number of blocks in 1..{MAX_WINDOW}")
        first, last, stats = self.index.stats(window)
        return {
            "fromBlock": qty(first),
            "toBlock": qty(last),
            "validators": [
                {
                    "name": s.name,
                    "address": s.address,
                    "votingPower": str(s.power),
                    "lastSignedHeight": None if s.last_signed_height is None else qty(s.last_signed_height),
                    "signedBlocks": s.signed_blocks,
                    "missedBlocks": s.missed_blocks,
                    "proposedBlocks": s.proposed_blocks,
                    "uptime": f"{s.uptime_basis_points // 100}.{s.uptime_basis_points % 100:02d}",
                }
                for s in stats
            ],
        }
