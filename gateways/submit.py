"""Submit a payment message to a node: one signed ledger transaction per payment, and what became of each.

Shared by `qenex gateway submit` and the REST service (`gateways.service`), so both book the same way:
validate the whole message first (nothing is signed for an invalid one), check the chain's currencies
have their ISO 4217 decimals, then per payment ask the node whether its transfer id is already booked
(re-delivery, or the same UETR in another format) before signing and sending. Each payment ends in one
`Outcome`, which is also what the pacs.002 status report says about it.

The gateway reaches the node only through its public JSON-RPC, like any external adapter.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gateways.booking import PaymentInstruction, transactions_from_message
from gateways.iso20022.status import (
    DEFAULT_PACS002_VERSION,
    TransactionStatus,
    message_id_for,
    pacs002_report,
    reason_for_rule,
)
from ledger.currency import ISO_4217_EXPONENTS
from ledger.hashing import keccak
from ledger.tx import LedgerTransaction, address_of_key
from node.rpc.client import RpcCallError, RpcClient

if TYPE_CHECKING:
    from gateways.pii_delivery import Sealer

Json = dict[str, object]
RECEIPT_POLL_SECONDS = 0.2


class GatewayError(RuntimeError):
    """The node cannot take the message now (unreachable, wrong chain, currency decimals differ)."""


class PersonalDataNotSealed(GatewayError):
    """The message's personal data could not be sealed or the node refused it: nothing was booked."""


@dataclass(slots=True)
class Outcome:
    """What happened to one payment.

    state: "sent" (admitted, receipt not awaited), "booked" (receipt status 1), "duplicate" (the
    transfer id is already booked with the same terms), "conflict" (already booked with other terms:
    a UETR reused for a different payment), "rejected" (refused by the node: `rule` says why).
    """

    payment: PaymentInstruction
    state: str
    transaction_hash: str | None = None
    rule: str | None = None
    message: str | None = None
    receipt: Json | None = None

    @property
    def ok(self) -> bool:
        return self.state in ("sent", "booked", "duplicate")

    def line(self) -> Json:
        """The JSON line `qenex gateway submit` prints for this payment."""
        head: Json = {"transferId": self.payment.transfer_id_hex(), "endToEndId": self.payment.end_to_end_id or None}
        if self.state == "duplicate":
            return {**head, "duplicate": True}
        if self.state == "conflict":
            return {**head, "duplicate": True, "conflict": self.message}
        if self.state == "rejected":
            return {**head, "error": {"rule": self.rule, "message": self.message}}
        line: Json = {**head, "transactionHash": self.transaction_hash, **self.payment.summary()}
        if self.receipt is not None:
            line["status"] = self.receipt.get("status")
        return line

    def iso_status(self) -> TransactionStatus:
        payment = self.payment
        if self.state == "booked":
            code, reason, info = "ACSC", None, None
        elif self.state == "sent":
            code, reason, info = "ACSP", None, None
        elif self.state == "duplicate":
            code, reason, info = "RJCT", "DUPL", "already booked as transfer " + payment.transfer_id_hex()
        elif self.state == "conflict":
            code, reason, info = "RJCT", "DUPL", (self.message or "")[:105] or None
        else:
            code, reason, info = "RJCT", reason_for_rule(self.rule), (self.rule or "refused")[:105]
        original = payment.original
        return TransactionStatus(
            original_message_id=original.message_id or "NOTPROVIDED",
            original_message_name=original.message_name or payment.kind,
            status=code,
            reason=reason,
            additional_info=info,
            instruction_id=original.instruction_id,
            end_to_end_id=payment.end_to_end_id,
            transaction_id=original.transaction_id,
            uetr=str(uuid.UUID(bytes=payment.uetr)) if payment.uetr else "",
            servicer_reference=payment.transfer_id_hex(),
        )


def status_report(
    data: bytes, outcomes: list[Outcome], version: str = DEFAULT_PACS002_VERSION, created: str | None = None
) -> bytes:
    """The pacs.002 answering a submitted message, one TxInfAndSts per payment."""
    return pacs002_report(
        [o.iso_status() for o in outcomes], msg_id=message_id_for(keccak(data)), version=version, created=created
    )


def _differences(payment: PaymentInstruction, booked: Json) -> list[str]:
    wanted = {
        "debitAccountId": payment.debit_account_id,
        "creditAccountId": payment.credit_account_id,
        "amount": str(payment.amount),
        "currency": payment.currency,
    }
    return [f"{key} {booked.get(key)} (message: {value})" for key, value in wanted.items() if booked.get(key) != value]


class Submitter:
    """Signs with the gateway's key and sends through one node's RPC; not thread-safe (one nonce sequence)."""

    def __init__(self, client: RpcClient, key: bytes, account_map: dict[str, str] | None = None,
                 sealer: Sealer | None = None) -> None:  # fmt: skip
        """`sealer`: personal data sealed and handed to the node before booking (gateways/pii_delivery.py)."""
        self.client = client
        self.key = key
        self.account_map = account_map
        self.sealer = sealer
        self.sealed: dict | None = None  # what the sealer answered for the last message
        self._chain_id: int | None = None  # the chain's id and currency decimals do not change: asked once
        self._exponents: dict[str, int] = {}

    def payments(self, data: bytes) -> list[PaymentInstruction]:
        """Every payment of a valid message; MessageError with every problem otherwise (nothing signed).

        `transactions_from_message` validates the whole message (format rules or XSD) before anything else.
        """
        return transactions_from_message(data, self.account_map)

    def _chain(self, payments: list[PaymentInstruction]) -> tuple[int, int]:
        try:
            if self._chain_id is None:
                self._exponents = {c["code"]: c["exponent"] for c in self.client.call("qenex_getCurrencies")}
                self._chain_id = int(self.client.call("eth_chainId"), 16)
            # Asked per message: another process signing with the same key moves the nonce too.
            nonce = int(self.client.call("eth_getTransactionCount", address_of_key(self.key), "pending"), 16)
        except (ConnectionError, RpcCallError) as error:
            raise GatewayError(str(error)) from error
        chain_id = self._chain_id
        for payment in payments:
            # Minor units were computed with the ISO 4217 exponent; a chain with another one would misbook.
            if self._exponents.get(payment.currency) != ISO_4217_EXPONENTS.get(payment.currency):
                raise GatewayError(
                    f"{payment.path}: currency {payment.currency} is not on this chain with its ISO 4217 decimals"
                )
        return chain_id, nonce

    def submit(
        self,
        data: bytes,
        wait: bool = False,
        timeout: float = 60.0,
        on_outcome: Callable[[Outcome], None] | None = None,
    ) -> list[Outcome]:
        """Book every payment of `data` once; one Outcome per payment, in message order.

        A payment the node refuses does not stop the others (each is its own transaction); submitting
        the same message again after fixing the cause books only what is missing.
        """
        self.sealed = None
        payments = self.payments(data)
        chain_id, nonce = self._chain(payments)
        if self.sealer is not None:  # before anything is signed: a payment whose data reached nobody is not booked
            try:
                self.sealed = self.sealer(self.client, self.key, chain_id, data, payments)
            except ValueError as error:  # PersonalDataError
                raise PersonalDataNotSealed(f"personal data not sealed, nothing booked: {error}") from None
            except ConnectionError as error:
                raise GatewayError(str(error)) from error
        outcomes: list[Outcome] = []
        for payment in payments:
            outcome = self._send(payment, chain_id, nonce)
            if outcome.state == "sent":
                nonce += 1
            if not wait and on_outcome is not None:
                on_outcome(outcome)
            outcomes.append(outcome)
        if wait:
            for outcome in outcomes:
                if outcome.state == "sent":
                    self._await(outcome, timeout)
                if on_outcome is not None:
                    on_outcome(outcome)
        return outcomes

    def _send(self, payment: PaymentInstruction, chain_id: int, nonce: int) -> Outcome:
        try:
            booked = self.client.call("qenex_getTransfer", payment.transfer_id_hex())
            if booked is not None:
                differs = _differences(payment, booked)
                if differs:
                    found = "already booked with other terms: " + "; ".join(differs)
                    return Outcome(payment, "conflict", message=found)
                return Outcome(payment, "duplicate")
            raw = (
                LedgerTransaction(chain_id, nonce, (payment.transfer(),), payment.references()).sign(self.key).encode()
            )
            tx_hash = self.client.call("eth_sendRawTransaction", "0x" + raw.hex())
        except RpcCallError as error:
            rule = error.data.get("rule") if isinstance(error.data, dict) else None
            if rule == "duplicate_transfer_id":
                return Outcome(payment, "duplicate")
            if rule == "already_known":  # this very transaction arrived before (a retried request)
                return Outcome(payment, "sent", transaction_hash="0x" + keccak(raw).hex())
            return Outcome(payment, "rejected", rule=rule or "error", message=str(error))
        except ConnectionError as error:
            raise GatewayError(str(error)) from error
        return Outcome(payment, "sent", transaction_hash=tx_hash)

    def _await(self, outcome: Outcome, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        try:
            while (receipt := self.client.call("eth_getTransactionReceipt", outcome.transaction_hash)) is None:
                if time.monotonic() > deadline:
                    raise GatewayError(f"no receipt for {outcome.transaction_hash} after {timeout:.0f}s")
                time.sleep(RECEIPT_POLL_SECONDS)
        except (ConnectionError, RpcCallError) as error:
            raise GatewayError(str(error)) from error
        outcome.receipt = receipt
        error = receipt.get("error") or {}
        if receipt.get("status") == "0x1":
            outcome.state = "booked"
        elif error.get("rule") == "duplicate_transfer_id":
            outcome.state = "duplicate"
        else:
            outcome.state, outcome.rule, outcome.message = "rejected", error.get("rule"), error.get("message")
