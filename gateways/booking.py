"""From a payment message to the ledger transfers it asks for: one PaymentInstruction per payment.

The gateway accepts MT103, pacs.008 (one payment per CdtTrfTxInf) and pain.001 (one per CdtTrfTxInf of
every PmtInf block). Each payment becomes one ledger transaction carrying one transfer, so that the
transaction's references (end-to-end id, UETR, message hash) describe exactly that payment.

Idempotency is the point of the transfer id: banks re-deliver messages (retries, restarts, duplicate
feeds), and the ledger refuses a second transfer with a known id (rule duplicate_transfer_id). So the id
is derived from the message's own identifiers, never chosen at random: the same message, delivered
twice, asks for the same transfer, and is booked once.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
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
class PaymentInstruction:
    """One payment of a message, resolved to ledger accounts and integer minor units."""

    kind: str  # "mt103", "pacs.008" or "pain.001"
    path: str  # where in the message, for operators reading a refusal
    transfer_id: int
    debit_account_id: str
    credit_account_id: str
    amount: int  # minor units of `currency`
    currency: str
    end_to_end_id: str
    uetr: bytes  # 16 bytes or empty
    message_hash: bytes  # keccak256 of the exact file bytes

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


def derive_transfer_id(kind: str, parts: list[str]) -> int:
    """keccak256("qenex-gateway:" + kind + ":" + parts joined by US) truncated to 16 bytes, never zero.

    The kind is in the preimage so that an MT103 and a pacs.008 that happen to share a reference do
    not collide; the message version is not, so a version upgrade does not re-book old payments.
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


def _mt103(view: Json, prefix: str, context: _Context) -> PaymentInstruction | None:
    problems = context.problems
    parties = view.get("parties") if isinstance(view.get("parties"), dict) else {}
    currency = _get(view, "currency")
    amount_text = _get(view, "amount")
    amount = _minor_units(amount_text, currency, f"{prefix}:32A:", problems)
    uetr_text = _get(view, "uetr")
    uetr = _uetr_bytes(uetr_text, f"{prefix}{{3:{{121:}}}}", problems)
    reference = _get(view, "references", "sender") or ""
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
    if uetr:
        parts = [str(uuid.UUID(bytes=uetr))]
    else:
        parts = [
            reference,
            _get(view, "sender") or "",
            _get(view, "value_date") or "",
            currency or "",
            amount_text or "",
        ]
    if amount is None or not debit or not credit or currency is None:
        return None
    return context.instruction("mt103", prefix or "(message)", parts, debit, credit, amount, currency, e2e, uetr)


def _mt_file(context: _Context) -> list[PaymentInstruction]:
    file_messages = swift.parse_file(context.data)
    result = []
    for index, message in enumerate(file_messages):
        prefix = f"message {index + 1} " if len(file_messages) > 1 else ""
        if message.mt_type != "103":
            context.problems.append(
                Problem(f"{prefix}{{2:}}", "booking", f"MT{message.mt_type or '?'} is not a customer payment to book")
            )
            continue
        instruction = _mt103(swift.canonical_message(message), prefix, context)
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
    parts = [str(uuid.UUID(bytes=uetr))] if uetr else [p or "" for p in id_parts]
    if amount is None or not debit or not credit or currency is None:
        return None
    return context.instruction(kind, path, parts, debit, credit, amount, currency, e2e, uetr)


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


# --- entry point ----------------------------------------------------------------------------------


@dataclass
class _Context:
    data: bytes
    account_map: dict[str, str] | None
    message_hash: bytes
    problems: list[Problem]

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
    ) -> PaymentInstruction:
        return PaymentInstruction(
            kind=kind,
            path=path,
            transfer_id=derive_transfer_id(kind, parts),
            debit_account_id=debit,
            credit_account_id=credit,
            amount=amount,
            currency=currency,
            end_to_end_id=e2e,
            uetr=uetr,
            message_hash=self.message_hash,
        )


def transactions_from_message(data: bytes, account_map: dict[str, str] | None = None) -> list[PaymentInstruction]:
    """Every payment of a valid MT103 / pacs.008 / pain.001 file, ready to sign as ledger transfers.

    MessageError lists every reason it cannot be booked: validation problems first (an invalid message
    is never booked), then unsupported types, unresolvable parties, amounts and currencies.
    """
    problems = messages.validate(data)
    if problems:
        raise MessageError(problems)
    context = _Context(data, account_map, keccak(data), [])
    if messages.detect(data) == "xml":
        parsed = messages.parse(data)
        message_type = str(parsed.get("type") or "")
        body = parsed.get("message")
        if not isinstance(body, dict):
            raise MessageError([Problem("(file)", "booking", "the parser returned no message body")])
        if message_type.startswith("pacs.008."):
            result = _pacs008(body, context)
        elif message_type.startswith("pain.001."):
            result = _pain001(body, context)
        else:
            raise MessageError([Problem("(file)", "booking", f"{message_type} is not a payment the gateway books")])
    else:
        result = _mt_file(context)
    if context.problems:
        raise MessageError(context.problems)
    if not result:
        raise MessageError([Problem("(file)", "booking", "the message holds no payment")])
    return result
