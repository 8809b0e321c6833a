"""pacs.002 FI-to-FI payment status reports for what the gateway did with each payment of a message.

A sender needs one answer per payment it sent: settled (ACSC), accepted and in process (ACSP), or
rejected (RJCT) with an ISO external status reason code it can act on (AM04 insufficient funds,
AC01 wrong account, DUPL duplicate, ...). Schemes differ in the version they exchange, so the report
is generated as pacs.002.001.10 (CBPR+ today) or pacs.002.001.12 (the 2019 ISO release later
schemes adopted) as configured; for the elements we write, the two versions have the same structure
and differ only in namespace. Built with lxml element by element in the XSD's sequence order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from gateways.iso20022.generators import REJECTED_STATUS, _Builder, _check_id, _serialise
from gateways.problems import MessageError, Problem

PACS002_VERSIONS = ("pacs.002.001.10", "pacs.002.001.12")
DEFAULT_PACS002_VERSION = "pacs.002.001.10"

# Ledger refusal rules (ledger/errors.py) to ISO ExternalStatusReason1Code values.
REASON_FOR_RULE = {
    "account_not_found": "AC01",  # IncorrectAccountNumber
    "invalid_account": "AC01",
    "account_not_active": "AC06",  # BlockedAccount
    "exceeds_credits": "AM04",  # InsufficientFunds
    "exceeds_debits": "AM04",
    "currency_mismatch": "AM03",  # NotAllowedCurrency
    "unknown_currency": "AM03",
    "invalid_amount": "AM12",  # InvalidAmount
    "overflow": "AM12",
    "unauthorized_debit": "AG01",  # TransactionForbidden
    "duplicate_transfer_id": "DUPL",  # DuplicatePayment
}
DEFAULT_REASON = "MS03"  # NotSpecifiedReasonAgentGenerated


def reason_for_rule(rule: str | None) -> str:
    return REASON_FOR_RULE.get(rule or "", DEFAULT_REASON)


@dataclass(frozen=True, slots=True)
class TransactionStatus:
    """One payment's status, quoting the identifiers the sender gave it."""

    original_message_id: str
    original_message_name: str
    status: str  # ACSC, ACSP, RJCT, ...
    reason: str | None = None  # ISO external status reason code
    additional_info: str | None = None
    instruction_id: str = ""
    end_to_end_id: str = ""
    transaction_id: str = ""
    uetr: str = ""
    servicer_reference: str = ""  # our transfer id, for the sender's investigations


def _check(statuses: Sequence[TransactionStatus], msg_id: str, version: str) -> None:
    problems: list[Problem] = []
    if version not in PACS002_VERSIONS:
        problems.append(Problem("version", f"one of {', '.join(PACS002_VERSIONS)}", repr(version)))
    _check_id(problems, "GrpHdr/MsgId", msg_id)
    if not statuses:
        problems.append(Problem("TxInfAndSts", "a status report needs at least one payment", "none"))
    for index, status in enumerate(statuses):
        path = f"TxInfAndSts[{index + 1}]"
        _check_id(problems, f"{path}/OrgnlGrpInf/OrgnlMsgId", status.original_message_id)
        _check_id(problems, f"{path}/OrgnlGrpInf/OrgnlMsgNmId", status.original_message_name)
        if status.status == REJECTED_STATUS and not status.reason:
            problems.append(Problem(f"{path}/StsRsnInf/Rsn/Cd", "RJCT needs an ISO reason code", "none"))
        if status.additional_info is not None and not 1 <= len(status.additional_info) <= 105:
            problems.append(Problem(f"{path}/StsRsnInf/AddtlInf", "1 to 105 characters", status.additional_info[:80]))
        for name, value in (
            ("OrgnlInstrId", status.instruction_id),
            ("OrgnlEndToEndId", status.end_to_end_id),
            ("OrgnlTxId", status.transaction_id),
            ("AcctSvcrRef", status.servicer_reference),
        ):
            _check_id(problems, f"{path}/{name}", value or None, required=False)
    if problems:
        raise MessageError(problems)


def pacs002_report(
    statuses: Sequence[TransactionStatus],
    *,
    msg_id: str,
    version: str = DEFAULT_PACS002_VERSION,
    created: str | None = None,
) -> bytes:
    """A pacs.002 with one TxInfAndSts per payment; MessageError listing every bad input."""
    _check(statuses, msg_id, version)
    b = _Builder(f"urn:iso:std:iso:20022:tech:xsd:{version}")
    doc = b.root()
    report = b.add(doc, "FIToFIPmtStsRpt")
    grp = b.add(report, "GrpHdr")
    b.add(grp, "MsgId", msg_id)
    b.add(grp, "CreDtTm", created or datetime.now(UTC).isoformat(timespec="seconds"))
    for status in statuses:
        info = b.add(report, "TxInfAndSts")
        original = b.add(info, "OrgnlGrpInf")
        b.add(original, "OrgnlMsgId", status.original_message_id)
        b.add(original, "OrgnlMsgNmId", status.original_message_name)
        b.opt(info, "OrgnlInstrId", status.instruction_id)
        b.opt(info, "OrgnlEndToEndId", status.end_to_end_id)
        b.opt(info, "OrgnlTxId", status.transaction_id)
        b.opt(info, "OrgnlUETR", status.uetr)
        b.add(info, "TxSts", status.status)
        if status.reason:
            reason = b.add(info, "StsRsnInf")
            b.add(b.add(reason, "Rsn"), "Cd", status.reason)
            b.opt(reason, "AddtlInf", status.additional_info)
        b.opt(info, "AcctSvcrRef", status.servicer_reference)
    return _serialise(doc)


def message_id_for(seed: bytes) -> str:
    """A deterministic MsgId for the report on a message (its hash), so a re-sent report is recognisable."""
    return "QNX" + seed.hex()[:32]


def parse_version(text: str) -> str:
    """'10', '12', '001.10' or the full name -> the full pacs.002 version name; ValueError otherwise."""
    for version in PACS002_VERSIONS:
        if text in (version, version[-2:], version[-6:]):
            return version
    raise ValueError(f"pacs.002 version must be one of {', '.join(PACS002_VERSIONS)} (or 10 / 12), not {text!r}")
