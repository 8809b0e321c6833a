"""Account statements from the on-chain journal: MT940, MT950 and camt.053 for a block range.

A statement is only worth sending if its balances are the ledger's to the cent. So the gateway reads
the account's whole journal through the node's public JSON-RPC (`qenex_getJournal`, oldest first),
replays the posted effects, and takes the opening balance as everything before the first block of the
range and the closing balance as opening plus the range's entries. Before building anything it checks
that replaying the entire journal gives exactly the balance `qenex_getAccount` reports, read at the
same head; a journal that does not add up is an error, never a statement.

Only posted money appears (kinds posted and post_pending): reservations of two-phase transfers are not
booked balances. Dates are the UTC dates of the block timestamps; the statement's references are the
end-to-end id and UETR the payment's transaction carried.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from gateways.accounts import servicing_bic
from gateways.iso20022.generators import camt053_statement
from gateways.swift.fin import FinMessage, generate
from ledger.currency import format_amount
from node.rpc.client import RpcCallError, RpcClient

JOURNAL_PAGE = 1000  # qenex_getJournal's largest page
MAX_JOURNAL_ENTRIES = 1_000_000  # a bound on the replay: larger accounts need a snapshot-based statement
MAX_STATEMENT_ENTRIES = 10_000  # entries in one statement; ask for a narrower block range beyond that
BATCH = 200  # block and transaction lookups per JSON-RPC batch
_BOOKED_KINDS = frozenset({"posted", "post_pending"})
_SWIFT_X = re.compile(r"[^A-Za-z0-9/\-?:().,'+ ]")
FORMATS = ("mt940", "mt950", "camt053")


class StatementError(ValueError):
    """The statement cannot be produced: unknown account, bad range, unreachable node, or a journal that
    does not add up to the account's balance."""


@dataclass(frozen=True, slots=True)
class StatementEntry:
    block_number: int
    timestamp: int
    amount: int  # minor units, positive
    credit: bool  # money came into the account
    transfer_id: str
    transaction_hash: str | None
    counterparty: str
    end_to_end_id: str | None = None
    uetr: str | None = None


@dataclass(frozen=True, slots=True)
class LedgerStatement:
    account_id: str
    currency: str
    exponent: int
    from_block: int
    to_block: int
    from_timestamp: int
    to_timestamp: int
    opening: int  # signed minor units, credit positive (the customer's view)
    closing: int
    entries: list[StatementEntry] = field(default_factory=list)

    def check(self) -> None:
        """Closing = opening + credits - debits: asserted before any message is built from it."""
        moved = sum(e.amount if e.credit else -e.amount for e in self.entries)
        if self.opening + moved != self.closing:
            raise StatementError(f"statement of {self.account_id} does not add up: {self.opening} + {moved} != closing")


def _date(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def _call(client: RpcClient, method: str, *params: object) -> object:
    try:
        return client.call(method, *params)
    except (ConnectionError, RpcCallError) as error:
        raise StatementError(str(error)) from error


def _journal(client: RpcClient, account_id: str) -> list[dict]:
    entries: list[dict] = []
    cursor = None
    while True:
        options: dict[str, object] = {"limit": JOURNAL_PAGE, "order": "asc"}
        if cursor is not None:
            options["cursor"] = cursor
        page = _call(client, "qenex_getJournal", account_id, options)
        assert isinstance(page, dict)
        entries += page["entries"]
        cursor = page.get("nextCursor")
        if cursor is None:
            return entries
        if len(entries) >= MAX_JOURNAL_ENTRIES:
            raise StatementError(f"{account_id} has more than {MAX_JOURNAL_ENTRIES} journal entries to replay")


def _effect(entry: dict, account_id: str) -> int:
    posting = entry["posting"]
    if posting["kind"] not in _BOOKED_KINDS:
        return 0
    amount = int(posting["amount"])
    return amount if posting["creditAccountId"] == account_id else -amount


def _batch(client: RpcClient, calls: list[tuple[str, list]]) -> list[object]:
    results: list[object] = []
    for start in range(0, len(calls), BATCH):
        try:
            replies = client.batch(calls[start : start + BATCH])
        except (ConnectionError, RpcCallError) as error:
            raise StatementError(str(error)) from error
        for reply in replies:
            if "error" in reply:
                raise StatementError(f"node refused a lookup: {reply['error']}")
            results.append(reply["result"])
    return results


def _consistent_read(client: RpcClient, account_id: str) -> tuple[int, dict, list[dict]]:
    """(head, account, journal) read at one head: retried while blocks arrive in between."""
    for _ in range(5):
        head = int(str(_call(client, "eth_blockNumber")), 16)
        account = _call(client, "qenex_getAccount", account_id)
        if account is None:
            raise StatementError(f"account {account_id} does not exist on this chain")
        journal = _journal(client, account_id)
        if int(str(_call(client, "eth_blockNumber")), 16) == head:
            assert isinstance(account, dict)
            return head, account, journal
    raise StatementError("the chain kept moving while the journal was read; try again")


def fetch_statement(
    client: RpcClient, account_id: str, from_block: int = 0, to_block: int | None = None
) -> LedgerStatement:
    """The statement of `account_id` over blocks from_block..to_block (inclusive; default: to the head)."""
    head, account, journal = _consistent_read(client, account_id)
    last = head if to_block is None else to_block
    if from_block < 0 or last < from_block:
        raise StatementError(f"block range {from_block}..{last} is empty or negative")
    if last > head:
        raise StatementError(f"block {last} is beyond the chain head {head}")
    total = sum(_effect(e, account_id) for e in journal)
    if total != int(account["balance"]):
        raise StatementError(f"journal of {account_id} replays to {total}, the ledger says {account['balance']}")
    opening = 0
    in_range: list[dict] = []
    for entry in journal:
        number = int(entry["blockNumber"], 16)
        if number < from_block:
            opening += _effect(entry, account_id)
        elif number <= last and _effect(entry, account_id):
            in_range.append(entry)
    if len(in_range) > MAX_STATEMENT_ENTRIES:
        raise StatementError(f"{len(in_range)} entries: more than {MAX_STATEMENT_ENTRIES}; ask for fewer blocks")
    blocks = sorted({from_block, last, *(int(e["blockNumber"], 16) for e in in_range)})
    headers = _batch(client, [("eth_getBlockByNumber", [hex(n), False]) for n in blocks])
    timestamps = {n: int(h["timestamp"], 16) for n, h in zip(blocks, headers, strict=True) if isinstance(h, dict)}
    hashes = sorted({e["transactionHash"] for e in in_range if e.get("transactionHash")})
    transactions = _batch(client, [("eth_getTransactionByHash", [h]) for h in hashes])
    references = {h: (t or {}).get("references") or {} for h, t in zip(hashes, transactions, strict=True)}
    entries = []
    for entry in in_range:
        posting = entry["posting"]
        effect = _effect(entry, account_id)
        refs = references.get(entry.get("transactionHash") or "", {})
        credit = effect > 0
        entries.append(
            StatementEntry(
                block_number=int(entry["blockNumber"], 16),
                timestamp=timestamps[int(entry["blockNumber"], 16)],
                amount=abs(effect),
                credit=credit,
                transfer_id=posting["transferId"],
                transaction_hash=entry.get("transactionHash"),
                counterparty=posting["debitAccountId"] if credit else posting["creditAccountId"],
                end_to_end_id=refs.get("endToEndId") or None,
                uetr=refs.get("uetr") or None,
            )
        )
    currency = str(account["currency"])
    statement = LedgerStatement(
        account_id=account_id,
        currency=currency,
        exponent=_exponent(client, currency),
        from_block=from_block,
        to_block=last,
        from_timestamp=timestamps[from_block],
        to_timestamp=timestamps[last],
        opening=opening,
        closing=opening + sum(e.amount if e.credit else -e.amount for e in entries),
        entries=entries,
    )
    statement.check()
    if last == head and statement.closing != int(account["balance"]):
        raise StatementError(f"closing balance {statement.closing} differs from the ledger's {account['balance']}")
    return statement


def _timestamp(client: RpcClient, number: int) -> int:
    header = _call(client, "eth_getBlockByNumber", hex(number), False)
    if not isinstance(header, dict):
        raise StatementError(f"block {number} is missing")
    return int(header["timestamp"], 16)


def _first_block_at(client: RpcClient, timestamp: int, head: int) -> int:
    """The first block whose timestamp is >= `timestamp` (head + 1 if none): binary search, since
    block timestamps never decrease."""
    low, high = 0, head + 1
    while low < high:
        middle = (low + high) // 2
        if _timestamp(client, middle) >= timestamp:
            high = middle
        else:
            low = middle + 1
    return low


def blocks_for_dates(client: RpcClient, first_day: date, last_day: date) -> tuple[int, int]:
    """The block range whose timestamps fall on first_day..last_day (UTC, inclusive)."""
    if last_day < first_day:
        raise StatementError(f"period {first_day}..{last_day} ends before it starts")
    head = int(str(_call(client, "eth_blockNumber")), 16)
    start = int(datetime.combine(first_day, time.min, UTC).timestamp())
    end = int(datetime.combine(last_day + timedelta(days=1), time.min, UTC).timestamp())
    first, after = _first_block_at(client, start, head), _first_block_at(client, end, head)
    if first >= after:
        raise StatementError(f"no block was made between {first_day} and {last_day} (UTC)")
    return first, after - 1


def _exponent(client: RpcClient, currency: str) -> int:
    for item in _call(client, "qenex_getCurrencies") or []:  # type: ignore[union-attr]
        if isinstance(item, dict) and item.get("code") == currency:
            return int(item["exponent"])
    raise StatementError(f"currency {currency} is not configured on this chain")


# --- camt.053 -------------------------------------------------------------------------------------


def _is_iban(account_id: str) -> bool:
    return bool(re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}", account_id))


def _reference(text: str, width: int) -> str:
    """SWIFT x-charset text cut to `width`; CBPR+ marks a cut reference with a trailing '+'."""
    clean = _SWIFT_X.sub(".", text)
    return clean if len(clean) <= width else clean[: width - 1] + "+"


def statement_id(statement: LedgerStatement) -> str:
    return _reference(f"{statement.from_block}-{statement.to_block}", 16)


def to_camt053(statement: LedgerStatement, msg_id: str | None = None, created: str | None = None) -> bytes:
    """camt.053.001.08 of the statement; amounts from integer minor units (never floats)."""
    account = {"iban": statement.account_id} if _is_iban(statement.account_id) else {"other": statement.account_id}
    entries = [
        {
            "amount": entry.amount,
            "credit_debit": "CRDT" if entry.credit else "DBIT",
            "booking_date": _date(entry.timestamp).date().isoformat(),
            "value_date": _date(entry.timestamp).date().isoformat(),
            "status": "BOOK",
            "servicer_ref": entry.transfer_id,
            "end_to_end_id": entry.end_to_end_id,
            "uetr": entry.uetr,
        }
        for entry in statement.entries
    ]
    return camt053_statement(
        {
            "msg_id": msg_id or f"QNXSTMT-{statement.from_block}-{statement.to_block}"[:35],
            "statement_id": statement_id(statement),
            "currency": statement.currency,
            "account": account,
            "from": _date(statement.from_timestamp).isoformat(timespec="seconds"),
            "to": _date(statement.to_timestamp).isoformat(timespec="seconds"),
            "opening": {"amount": statement.opening, "date": _date(statement.from_timestamp).date().isoformat()},
            "closing": {"amount": statement.closing, "date": _date(statement.to_timestamp).date().isoformat()},
            "entries": entries,
        },
        created=created,
    )


# --- MT940 / MT950 --------------------------------------------------------------------------------


def _swift_amount(minor: int, exponent: int) -> str:
    return format_amount(abs(minor), exponent).replace(".", ",") if exponent else f"{abs(minor)},"


def _balance(minor: int, timestamp: int, currency: str, exponent: int) -> str:
    mark = "D" if minor < 0 else "C"
    return f"{mark}{_date(timestamp):%y%m%d}{currency}{_swift_amount(minor, exponent)}"


def statement_bics(account_id: str, bic: str | None, receiver_bic: str | None) -> tuple[str, str]:
    """(sender, receiver) BICs of an MT statement: as given, else the bank of the account's IBAN
    sends it to itself. StatementError when neither is known: a placeholder would be worse."""
    sender = bic or servicing_bic(account_id)
    if sender is None:
        raise StatementError(
            f"pass the sender's BIC (--bic, or bic= on the REST service): {account_id} is not an IBAN "
            "whose bank's BIC is known, and an MT statement names the bank that sends it"
        )
    return sender, receiver_bic or sender


def to_mt(
    statement: LedgerStatement,
    kind: str,
    sender_bic: str,
    receiver_bic: str,
    sequence: int = 1,
) -> bytes:
    """MT940 (customer statement, with :86: references) or MT950 (statement message) of the statement.

    The BICs have no default: a statement names the bank that sends it (gateways.accounts.
    servicing_bic derives it from an IBAN) and the party it goes to."""
    if kind not in ("940", "950"):
        raise StatementError(f"MT{kind} is not a statement type (940 or 950)")
    for name, bic in (("sender", sender_bic), ("receiver", receiver_bic)):
        if not re.fullmatch(r"[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?", bic):
            raise StatementError(f"{name} BIC {bic!r} is not a BIC")
    if not 1 <= sequence <= 99999:
        raise StatementError(f"statement number {sequence} is not 1..99999 (:28C: 5n)")
    currency, exponent = statement.currency, statement.exponent
    fields: list[tuple[str, str]] = [("20", statement_id(statement)), ("25", _reference(statement.account_id, 35))]
    fields.append(("28C", f"{sequence}/1"))
    fields.append(("60F", _balance(statement.opening, statement.from_timestamp, currency, exponent)))
    for entry in statement.entries:
        reference = _reference(entry.end_to_end_id or "NONREF", 16)
        bank_reference = _reference(entry.transfer_id.removeprefix("0x"), 16)
        mark = "C" if entry.credit else "D"
        amount = _swift_amount(entry.amount, exponent)
        fields.append(("61", f"{_date(entry.timestamp):%y%m%d%m%d}{mark}{amount}NTRF{reference}//{bank_reference}"))
        if kind == "940":
            info = [f"/EREF/{_reference(entry.end_to_end_id or 'NOTPROVIDED', 35)}"]
            if entry.uetr:
                info.append(f"/UETR/{entry.uetr}")
            info.append(f"/CPTY/{_reference(entry.counterparty, 59)}")
            fields.append(("86", "\n".join(info)))
    fields.append(("62F", _balance(statement.closing, statement.to_timestamp, currency, exponent)))
    basic = f"F01{sender_bic[:8]}X{(sender_bic[8:] or 'XXX')}0000000000"
    application = f"I{kind}{receiver_bic[:8]}X{(receiver_bic[8:] or 'XXX')}N"
    return generate([FinMessage(basic=basic, application=application, fields=fields)])
