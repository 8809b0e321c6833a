"""The node's one entry into screening, kept light: a chain without a pinned model never imports
scikit-learn, skops or numpy (they cost seconds of start-up on every node process)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from genesis.schema import Genesis

if TYPE_CHECKING:
    from node.screening.screener import Screener


def install_screening(genesis: Genesis, home: Path, chain: object) -> Screener | None:
    """The screener genesis pins (made a chain rule of `chain`), or None if genesis pins no model."""
    if genesis.screening is None:
        return None
    from node.screening.screener import install_screening as install

    return install(genesis, home, chain)
