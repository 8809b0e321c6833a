"""From a payment message to the ledger transfers it asks for: one PaymentInstruction per payment.

The gateway accepts MT103, MT202 / MT202 COV, pacs.008 (one payment per CdtTrfTxInf),
pain.001 (one per CdtTrfTxInf of every PmtInf block) and pain.008 SEPA direct debits (one per
DrctDbtTxInf, after the SDD rulebook checks). Each payment becomes one ledger transaction carrying one
transfer, so that the transaction's references (end-to-end id, UETR, message hash) describe exactly
that payment.

Idempotency is the point of the transfer id: banks re-deliver messages (retries, restarts, duplicate
feeds), and the ledger refuses a second transfer with a known id (rule duplicate_transfer_id). So the id
is derived from the message's own identifiers, never chosen at random: the same message, delivered
twice, asks for the same transfer, and is booked once. A UETR names one payment across formats and
hops, so a payment that carries one is identified by its UETR and its payment class alone (see
`PAYMENT_CLASSES`): the same customer payment arriving as an MT103 and as a pacs.008 is booked once.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from gateways import messages, swift
from gateways.accounts import is_ledger_account_id, resolve
from gateways.problems import MessageError, Problem
from ledger.currency import ISO_4217_EXPONENTS
from ledger.hashing import keccak
from ledger.transfer import Transfer
from ledger.tx import MAX_END_TO_END_ID, References

TRANSFER_ID_DOMAIN = b"qenex-gateway:"
_SEPARATOR = "\x1f"  # unit separator: cannot occur in SWIFT/ISO identifiers, so parts never run together
_PRINTABLE = re.compile(r"^[\x20-\x7e]*$")
Json = dict[str, object]


@dataclass(frozen=True, slots=True)
class OriginalIds:
    """The identifiers a status report (pacs.002) quotes back to the sender of the payment."""

    message_id: str = ""  # GrpHdr/MsgId, or MT :20:
    message_name: str = ""  # "pacs.008.001.08", "MT103", ...
    instruction_id: str = ""
    transaction_id: str = ""


@dataclass(frozen=True, slots=True)
class PaymentInstruction:
    """One payment of a message, resolved to ledger accounts and integer minor units."""

    kind: str  # "mt103", "mt202", "mt202cov", "pacs.008", "pacs.009", "pacs.009cov", "pain.001", "pain.008"
    path: str  # where in the message, for operators reading a refusal
    transfer_id: int
    debit_account_id: str
    credit_account_id: str
    amount: int  # minor units of `currency`
    currency: str
    end_to_end_id: str
    uetr: bytes  # 16 bytes or empty
    message_hash: bytes  # keccak256 of the exact file bytes
    original: OriginalIds = field(default_factory=lambda: OriginalIds())

    def transfer(self) -> Transfer:
        return Transfer(
            id=self.transfer_id,
            debit_account_id=self.debit_account_id,
            credit_account_id=self.credit_account_id,
            amount=self.amount,
            currency=self.currency,
        )

    def references(self) -> References:
        return References(end_to_end_id=self.end_to_end_id, uetr=self.uetr, message_hash=self.message_hash)

    def transfer_id_hex(self) -> str:
        return "0x" + self.transfer_id.to_bytes(16, "big").hex()

    def summary(self) -> Json:
        """JSON-able view for the CLI (amount as a string: JSON numbers lose precision past 2**53)."""
        return {
            "transferId": self.transfer_id_hex(),
            "path": self.path,
            "debit": self.debit_account_id,
            "credit": self.credit_account_id,
            "amount": str(self.amount),
            "currency": self.currency,
            "endToEndId": self.end_to_end_id or None,
            "uetr": str(uuid.UUID(bytes=self.uetr)) if self.uetr else None,
            "messageHash": "0x" + self.message_hash.hex(),
        }


PAYMENT_CLASSES = {
    "mt103": "customer-credit",
    "pacs.008": "customer-credit",
    "pain.001": "customer-credit",
    "mt202": "fi-credit",
    "pacs.009": "fi-credit",
    "mt202cov": "cover",
    "pacs.009cov": "cover",
    "pain.008": "direct-debit",
}
"""Formats that carry the same payment under the same UETR share a class (CBPR+ maps MT103 <-> pacs.008,
MT202 <-> pacs.009, MT202 COV <-> pacs.009 COV). A cover is its own class: it funds the correspondents
for a customer payment whose UETR it repeats, and is a booking of its own."""


def derive_transfer_id(kind: str, parts: list[str]) -> int:
    """keccak256("qenex-gateway:" + kind + ":" + parts joined by US) truncated to 16 bytes, never zero.

    `kind` is the payment class (`PAYMENT_CLASSES`) when `parts` is a UETR, else the message kind, so
    that an MT103 and a pacs.008 that happen to share a reference do not collide; the message version is
    never in it, so a version upgrade does not re-book old payments.
    """
    digest = keccak(TRANSFER_ID_DOMAIN + kind.encode() + b":" + _SEPARATOR.join(parts).encode("utf-8"))
    value = int.from_bytes(digest[:16], "big")
    return value or int.from_bytes(digest[16:], "big") or 1


def _uetr_bytes(text: str | None, path: str, problems: list[Problem]) -> bytes:
    if not text:
        return b""
    try:
        return uuid.UUID(text).bytes
    except ValueError:
        problems.append(Problem(path, "UETR", f"{text!r} is not a UUID"))
        return b""


def _minor_units(value: str | None, currency: str | None, path: str, problems: list[Problem]) -> int | None:
    """Exact integer minor units from decimal text; refuses more decimals than the currency has."""
    if not value or not currency:
        problems.append(Problem(path, "amount", "the payment has no amount or currency"))
        return None
    exponent = ISO_4217_EXPONENTS.get(currency)
    if exponent is None:
        problems.append(Problem(path, "currency", f"{currency!r} is not an ISO 4217 currency"))
        return None
    try:
        scaled = Decimal(value.replace(",", ".")).scaleb(exponent)
    except InvalidOperation:
        problems.append(Problem(path, "amount", f"{value!r} is not a decimal amount"))
        return None
    if not scaled.is_finite() or scaled != scaled.to_integral_value():
        problems.append(Problem(path, "amount", f"{value} {currency} has more than {exponent} decimals"))
        return None
    if scaled <= 0:
        problems.append(Problem(path, "amount", f"{value} {currency} is not a positive amount"))
        return None
    return int(scaled)


def _end_to_end(text: str | None, path: str, problems: list[Problem]) -> str:
    value = text or ""
    if len(value) > MAX_END_TO_END_ID or not _PRINTABLE.fullmatch(value):
        problems.append(Problem(path, "end-to-end id", f"{value!r} is not up to {MAX_END_TO_END_ID} ASCII characters"))
        return ""
    return value


def _account(
    candidates: list[str | None], account_map: dict[str, str] | None, path: str, problems: list[Problem]
) -> str:
    resolved = resolve(candidates, account_map)
    if resolved is None:
        named = ", ".join(c for c in candidates if c) or "no account, IBAN or BIC"
        found = f"cannot resolve a ledger account from {named} (not a valid IBAN; add it to the account map)"
        problems.append(Problem(path, "account", found))
        return ""
    if not is_ledger_account_id(resolved):
        problems.append(Problem(path, "account", f"{resolved!r} is not a valid ledger account id"))
        return ""
    return resolved


def _get(node: object, *keys: str) -> str | None:
    """node[k1][k2]... as a string, or None when any level is missing: parsed views are sparse."""
    for key in keys:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node if isinstance(node, str) and node else None


def _check_account_currency(account: object, currency: str | None, path: str, problems: list[Problem]) -> None:
    declared = _get(account, "currency")
    if declared and currency and declared != currency:
        problems.append(Problem(path, "currency", f"account currency {declared} differs from the amount's {currency}"))


# --- MT103 ----------------------------------------------------------------------------------------


def _mt_money(
    view: Json, prefix: str, problems: list[Problem]
) -> tuple[Json, str | None, str | None, int | None, bytes, str]:
    """What MT103 and MT202 carry alike: parties, :32A: currency and amount (text and minor
    units), the UETR of {3:{121:}} and the :20: reference."""
    parties = view.get("parties") if isinstance(view.get("parties"), dict) else {}
    currency = _get(view, "currency")
    amount_text = _get(view, "amount")
    amount = _minor_units(amount_text, currency, f"{prefix}:32A:", problems)
    uetr = _uetr_bytes(_get(view, "uetr"), f"{prefix}{{3:{{121:}}}}", problems)
    return parties, currency, amount_text, amount, uetr, _get(view, "references", "sender") or ""


def _identity(uetr: bytes, fallback: list[str]) -> list[str]:
    """The parts a transfer id derives from: the UETR when there is one (it names the payment
    across formats), else the message's own identifiers."""
    return [str(uuid.UUID(bytes=uetr))] if uetr else fallback


def _mt103(view: Json, prefix: str, context: _Context) -> PaymentInstruction | None:
    problems = context.problems
    parties, currency, amount_text, amount, uetr, reference = _mt_money(view, prefix, problems)
    debit = _account(
        [
            _get(parties, "ordering_customer", "account"),
            _get(parties, "ordering_customer", "identifier"),
            _get(parties, "ordering_customer", "bic"),
            _get(parties, "ordering_institution", "bic"),
            _get(view, "sender"),
        ],
        context.account_map,
        f"{prefix}:50a:",
        problems,
    )
    credit = _account(
        [
            _get(parties, "beneficiary", "account"),
            _get(parties, "beneficiary", "bic"),
            _get(parties, "account_with_institution", "bic"),
        ],
        context.account_map,
        f"{prefix}:59a:",
        problems,
    )
    e2e = _end_to_end(reference, f"{prefix}:20:", problems)
    parts = _identity(uetr, [reference, _get(view, "sender") or "", _get(view, "value_date") or "", currency or "",
                             amount_text or ""])  # fmt: skip
    if amount is None or not debit or not credit or currency is None:
        return None
    original = OriginalIds(reference, "MT103")
    return context.instruction(
        "mt103", prefix or "(message)", parts, debit, credit, amount, currency, e2e, uetr, original
    )


def _mt202(view: Json, prefix: str, context: _Context) -> PaymentInstruction | None:
    """MT202 / MT202 COV: the ordering institution's account is debited, the beneficiary institution's credited.

    For a COV only sequence A (the interbank cover) is booked; the underlying customer transfer is booked
    from its own MT103 / pacs.008 (class customer-credit), which shares the UETR but not the class.
    """
    problems = context.problems
    kind = "mt202cov" if view.get("type") == "mt202cov" else "mt202"
    parties, currency, amount_text, amount, uetr, reference = _mt_money(view, prefix, problems)
    related = _get(view, "references", "related") or ""
    debit = _account(
        [
            _get(parties, "ordering_institution", "account"),
            _get(parties, "ordering_institution", "bic"),
            _get(view, "sender"),
        ],
        context.account_map,
        f"{prefix}:52a:",
        problems,
    )
    credit = _account(
        [
            _get(parties, "beneficiary_institution", "account"),
            _get(parties, "beneficiary_institution", "bic"),
            _get(parties, "account_with_institution", "bic"),
        ],
        context.account_map,
        f"{prefix}:58a:",
        problems,
    )
    # CBPR+ maps pacs.009 EndToEndId to :21:; NONREF means there is none, so :20: stands in.
    e2e = _end_to_end(related if related and related != "NONREF" else reference, f"{prefix}:21:", problems)
    parts = _identity(uetr, [reference, related, _get(view, "sender") or "", _get(view, "value_date") or "",
                             currency or "", amount_text or ""])  # fmt: skip
    if amount is None or not debit or not credit or currency is None:
        return None
    original = OriginalIds(reference, "MT202COV" if kind == "mt202cov" else "MT202")
    return context.instruction(kind, prefix or "(message)", parts, debit, credit, amount, currency, e2e, uetr, original)


def _mt_file(context: _Context, file_messages: list[swift.FinMessage]) -> list[PaymentInstruction]:
    result = []
    for index, message in enumerate(file_messages):
        prefix = f"message {index + 1} " if len(file_messages) > 1 else ""
        if message.mt_type == "103":
            instruction = _mt103(swift.canonical_message(message), prefix, context)
        elif message.mt_type == "202":
            instruction = _mt202(swift.canonical_message(message), prefix, context)
        else:
            context.problems.append(
                Problem(f"{prefix}{{2:}}", "booking", f"MT{message.mt_type or '?'} is not a payment to book")
            )
            continue
        if instruction is not None:
            result.append(instruction)
    return result


# --- ISO 20022 ------------------------------------------------------------------------------------


def _iso_payment(
    kind: str,
    path: str,
    tx: Json,
    debtor: tuple[object, object, object, object],
    id_parts: list[str | None],
    context: _Context,
) -> PaymentInstruction | None:
    problems = context.problems
    money = tx.get("amount")
    value, currency = _get(money, "value"), _get(money, "currency")
    amount = _minor_units(value, currency, f"{path}/Amt", problems)
    debtor_account, debtor_party, debtor_agent, instructing_agent = debtor
    creditor_account = tx.get("creditor_account")
    _check_account_currency(debtor_account, currency, f"{path}/DbtrAcct/Ccy", problems)
    _check_account_currency(creditor_account, currency, f"{path}/CdtrAcct/Ccy", problems)
    debit = _account(
        [
            _get(debtor_account, "iban"),
            _get(debtor_account, "other"),
            _get(debtor_party, "bic"),
            _get(debtor_agent, "bic"),
            _get(instructing_agent, "bic"),
        ],
        context.account_map,
        f"{path}/DbtrAcct",
        problems,
    )
    credit = _account(
        [
            _get(creditor_account, "iban"),
            _get(creditor_account, "other"),
            _get(tx, "creditor", "bic"),
            _get(tx, "creditor_agent", "bic"),
        ],
        context.account_map,
        f"{path}/CdtrAcct",
        problems,
    )
    uetr = _uetr_bytes(_get(tx, "uetr"), f"{path}/PmtId/UETR", problems)
    e2e = _end_to_end(_get(tx, "end_to_end_id"), f"{path}/PmtId/EndToEndId", problems)
    parts = _identity(uetr, [p or "" for p in id_parts])
    if amount is None or not debit or not credit or currency is None:
        return None
    original = OriginalIds(
        context.message_id, context.message_name, _get(tx, "instr_id") or "", _get(tx, "tx_id") or ""
    )
    return context.instruction(kind, path, parts, debit, credit, amount, currency, e2e, uetr, original)


def _pacs008(message: Json, context: _Context) -> list[PaymentInstruction]:
    result = []
    transactions = message.get("transactions")
    for index, tx in enumerate(transactions if isinstance(transactions, list) else []):
        path = f"CdtTrfTxInf[{index + 1}]"
        debtor = (tx.get("debtor_account"), tx.get("debtor"), tx.get("debtor_agent"), tx.get("instructing_agent"))
        # Without a UETR the group's MsgId and the payment's own ids identify it; the position
        # tells apart payments that repeat ids (e.g. EndToEndId NOTPROVIDED) within one message.
        ids = [_get(message, "msg_id"), tx.get("instr_id"), tx.get("end_to_end_id"), tx.get("tx_id"), str(index)]
        instruction = _iso_payment("pacs.008", path, tx, debtor, ids, context)
        if instruction is not None:
            result.append(instruction)
    return result


def _pain001(message: Json, context: _Context) -> list[PaymentInstruction]:
    result = []
    blocks = message.get("payment_blocks")
    for block_index, block in enumerate(blocks if isinstance(blocks, list) else []):
        debtor = (block.get("debtor_account"), block.get("debtor"), block.get("debtor_agent"), None)
        transactions = block.get("transactions")
        for index, tx in enumerate(transactions if isinstance(transactions, list) else []):
            path = f"PmtInf[{block_index + 1}]/CdtTrfTxInf[{index + 1}]"
            ids = [
                _get(message, "msg_id"),
                block.get("payment_info_id"),
                tx.get("instr_id"),
                tx.get("end_to_end_id"),
                f"{block_index}/{index}",
            ]
            instruction = _iso_payment("pain.001", path, tx, debtor, ids, context)
            if instruction is not None:
                result.append(instruction)
    return result


def _pain008(message: Json, context: _Context) -> list[PaymentInstruction]:
    """SEPA direct debits: the debtor's account is debited, the collecting creditor's credited.

    Without a UETR a collection is identified by what the SDD rulebook makes unique: the creditor
    identifier, the mandate, the creditor's end-to-end id and the collection date (not the MsgId: a
    creditor re-sending a collection in a new file must not collect twice).
    """
    problems = context.problems
    result = []
    blocks = message.get("payment_blocks")
    for block_index, block in enumerate(blocks if isinstance(blocks, list) else []):
        creditor = (block.get("creditor_account"), block.get("creditor"), block.get("creditor_agent"))
        transactions = block.get("transactions")
        for index, tx in enumerate(transactions if isinstance(transactions, list) else []):
            path = f"PmtInf[{block_index + 1}]/DrctDbtTxInf[{index + 1}]"
            money = tx.get("amount")
            value, currency = _get(money, "value"), _get(money, "currency")
            amount = _minor_units(value, currency, f"{path}/InstdAmt", problems)
            _check_account_currency(tx.get("debtor_account"), currency, f"{path}/DbtrAcct/Ccy", problems)
            _check_account_currency(creditor[0], currency, f"{path}/CdtrAcct/Ccy", problems)
            debit = _account(
                [
                    _get(tx, "debtor_account", "iban"),
                    _get(tx, "debtor_account", "other"),
                    _get(tx, "debtor", "bic"),
                    _get(tx, "debtor_agent", "bic"),
                ],
                context.account_map,
                f"{path}/DbtrAcct",
                problems,
            )
            credit = _account(
                [
                    _get(creditor[0], "iban"),
                    _get(creditor[0], "other"),
                    _get(creditor[1], "bic"),
                    _get(creditor[2], "bic"),
                ],
                context.account_map,
                f"{path}/CdtrAcct",
                problems,
            )
            uetr = _uetr_bytes(_get(tx, "uetr"), f"{path}/PmtId/UETR", problems)
            e2e = _end_to_end(_get(tx, "end_to_end_id"), f"{path}/PmtId/EndToEndId", problems)
            scheme_id, mandate = _get(block, "creditor_scheme_id") or "", _get(tx, "mandate_id") or ""
            collection_date = _get(block, "requested_collection_date") or ""
            parts = _identity(uetr, [scheme_id, mandate, e2e, collection_date])
            if amount is None or not debit or not credit or currency is None:
                continue
            original = OriginalIds(context.message_id, context.message_name, _get(tx, "instr_id") or "")
            result.append(
                context.instruction("pain.008", path, parts, debit, credit, amount, currency, e2e, uetr, original)
            )
    return result


def _unique(payments: list[PaymentInstruction], problems: list[Problem]) -> None:
    """Two payments of one message asking for the same transfer id would book once and drop the other."""
    seen: dict[int, str] = {}
    for payment in payments:
        first = seen.setdefault(payment.transfer_id, payment.path)
        if first != payment.path:
            found = f"same identifiers (UETR or references) as {first}: it would be booked once"
            problems.append(Problem(payment.path, "duplicate payment in message", found))


# --- entry point ----------------------------------------------------------------------------------


@dataclass
class _Context:
    data: bytes
    account_map: dict[str, str] | None
    message_hash: bytes
    problems: list[Problem]
    message_id: str = ""
    message_name: str = ""

    def instruction(
        self,
        kind: str,
        path: str,
        parts: list[str],
        debit: str,
        credit: str,
        amount: int,
        currency: str,
        e2e: str,
        uetr: bytes,
        original: OriginalIds,
    ) -> PaymentInstruction:
        return PaymentInstruction(
            kind=kind,
            path=path,
            transfer_id=derive_transfer_id(PAYMENT_CLASSES[kind] if uetr else kind, parts),
            debit_account_id=debit,
            credit_account_id=credit,
            amount=amount,
            currency=currency,
            end_to_end_id=e2e,
            uetr=uetr,
            message_hash=self.message_hash,
            original=original,
        )


def transactions_from_message(data: bytes, account_map: dict[str, str] | None = None) -> list[PaymentInstruction]:
    """Every payment of a valid MT103 / MT202(COV) / pacs.008 / pain.001 / pain.008 file, as transfers.

    MessageError lists every reason it cannot be booked: validation problems first (an invalid message
    is never booked), then unsupported types, unresolvable parties, amounts and currencies.
    """
    context = _Context(data, account_map, keccak(data), [])
    # Each format is read once, validated completely (MT network rules / XSD), then used: an invalid
    # message is never booked, and its problems are reported before any booking problem.
    if messages.is_xml(data):
        from gateways import iso20022

        parsed = iso20022.parse_bytes(data)  # MessageError listing every XSD problem
        message_type = str(parsed.get("type") or "")
        body = parsed.get("message")
        if not isinstance(body, dict):
            raise MessageError([Problem("(file)", "booking", "the parser returned no message body")])
        context.message_id, context.message_name = _get(body, "msg_id") or "", message_type
        if message_type.startswith("pacs.008."):
            result = _pacs008(body, context)
        elif message_type.startswith("pain.001."):
            result = _pain001(body, context)
        elif message_type.startswith("pain.008."):
            from gateways.sdd import sdd_problems

            context.problems += sdd_problems(data)
            result = _pain008(body, context)
        else:
            raise MessageError([Problem("(file)", "booking", f"{message_type} is not a payment the gateway books")])
    else:
        file_messages = swift.parse_file(data)  # MessageError for FIN syntax
        problems = swift.validate_messages(file_messages)
        if problems:
            raise MessageError(problems)
        result = _mt_file(context, file_messages)
    _unique(result, context.problems)
    if context.problems:
        raise MessageError(context.problems)
    if not result:
        raise MessageError([Problem("(file)", "booking", "the message holds no payment")])
    return result
