"""`qenex fraud export`: the chain's transfers with their confirmed-fraud labels, as a handbook CSV.

So a consortium can retrain on what it has seen (`qenex fraud train --data FILE`) and compare the
new model with the pinned one (`qenex fraud eval`) before proposing it. Columns are the handbook's:
the debited account is CUSTOMER_ID, the credited one TERMINAL_ID, amounts in major units.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from node.rpc.client import RpcClient

COLUMNS = ("TRANSACTION_ID", "TX_DATETIME", "CUSTOMER_ID", "TERMINAL_ID", "TX_AMOUNT", "TX_FRAUD", "CURRENCY")


def export_transfers(rpc_url: str, out: Path) -> int:
    """Page through qenex_getLabelledTransfers and write every transfer; returns the row count."""
    rpc = RpcClient(rpc_url, timeout=60)
    exponents = {c["code"]: c["exponent"] for c in rpc.call("qenex_getCurrencies")}
    count = 0
    block: int | None = 1
    temporary = Path(str(out) + ".partial")
    with open(temporary, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        while block is not None:
            page = rpc.call("qenex_getLabelledTransfers", block)
            for t in page["transfers"]:
                exponent = exponents[t["currency"]]
                amount = Decimal(int(t["amount"])).scaleb(-exponent)
                stamp = datetime.fromtimestamp(t["timestamp"], UTC).strftime("%Y-%m-%d %H:%M:%S")
                writer.writerow(
                    (
                        t["transferId"],
                        stamp,
                        t["debitAccountId"],
                        t["creditAccountId"],
                        f"{amount:.{exponent}f}",
                        int(t["fraud"]),
                        t["currency"],
                    )
                )
                count += 1
            block = page["nextBlock"]
    temporary.replace(out)  # all or nothing: no half-written export under the real name
    return count
