"""XSD-valid ISO 20022 Documents to canonical, JSON-able dicts.

The dicts are what the rest of the node consumes, so they are deliberately plain: text, lists,
dicts and ints only. Amounts stay decimal text exactly as sent, next to their currency and, when
the currency's ISO 4217 exponent is known and the amount fits it, the integer in minor units the
ledger books; never a float. Parsers assume the XSD has already been checked, so mandatory
elements are present; optional ones come out as None.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

from ledger.currency import ISO_4217_EXPONENTS

Json = dict[str, Any]


@functools.lru_cache(maxsize=4096)
def _clark(namespace: str, path: str) -> str:
    """'GrpHdr/MsgId' in Clark notation; cached: the parsers ask the same few hundred paths per message."""
    return "/".join(f"{{{namespace}}}{step}" for step in path.split("/"))


class _Reader:
    """Namespace-bound `find` helpers: "GrpHdr/MsgId" instead of "{urn:...}GrpHdr/{urn:...}MsgId"."""

    def __init__(self, namespace: str) -> None:
        self.ns = namespace

    def _path(self, path: str) -> str:
        return _clark(self.ns, path)

    def one(self, node: etree._Element | None, path: str) -> etree._Element | None:
        return None if node is None else node.find(self._path(path))

    def all(self, node: etree._Element | None, path: str) -> list[etree._Element]:
        return [] if node is None else node.findall(self._path(path))

    def text(self, node: etree._Element | None, path: str) -> str | None:
        found = self.one(node, path)
        if found is None or found.text is None:
            return None
        return found.text.strip()

    def texts(self, node: etree._Element | None, path: str) -> list[str]:
        return [e.text.strip() for e in self.all(node, path) if e.text is not None]

    def amount(self, node: etree._Element | None, path: str) -> Json | None:
        found = self.one(node, path)
        if found is None or found.text is None:
            return None
        return amount(found.text.strip(), found.get("Ccy", ""))

    def account(self, node: etree._Element | None, path: str) -> Json | None:
        acct = self.one(node, path)
        if acct is None:
            return None
        return {
            "iban": self.text(acct, "Id/IBAN"),
            "other": self.text(acct, "Id/Othr/Id"),
            "currency": self.text(acct, "Ccy"),
            "name": self.text(acct, "Nm"),
        }

    def agent(self, node: etree._Element | None, path: str) -> Json | None:
        agt = self.one(node, path)
        if agt is None:
            return None
        return {
            "bic": self.text(agt, "FinInstnId/BICFI"),
            "member_id": self.text(agt, "FinInstnId/ClrSysMmbId/MmbId"),
            "name": self.text(agt, "FinInstnId/Nm"),
            "lei": self.text(agt, "FinInstnId/LEI"),
        }

    def party(self, node: etree._Element | None, path: str) -> Json | None:
        pty = self.one(node, path)
        if pty is None:
            return None
        return {
            "name": self.text(pty, "Nm"),
            "country": self.text(pty, "PstlAdr/Ctry"),
            "bic": self.text(pty, "Id/OrgId/AnyBIC"),
            "lei": self.text(pty, "Id/OrgId/LEI"),
        }

    def date(self, node: etree._Element | None, path: str) -> str | None:
        """A DateAndDateTime choice (Dt or DtTm) or a plain ISODate, as ISO text."""
        found = self.one(node, path)
        if found is None:
            return None
        if found.text is not None and found.text.strip():
            return found.text.strip()
        return self.text(found, "Dt") or self.text(found, "DtTm")


def amount(value: str, currency: str) -> Json:
    """Decimal text and currency, plus exact minor units when the ISO 4217 exponent allows it."""
    minor: int | None = None
    exponent = ISO_4217_EXPONENTS.get(currency)
    if exponent is not None:
        try:
            scaled = Decimal(value).scaleb(exponent)
        except InvalidOperation:
            scaled = None
        if scaled is not None and scaled.is_finite() and scaled == scaled.to_integral_value():
            minor = int(scaled)
    return {"value": value, "currency": currency, "minor": minor}


def _pacs008(r: _Reader, body: etree._Element) -> Json:
    grp = r.one(body, "GrpHdr")
    transactions = []
    for tx in r.all(body, "CdtTrfTxInf"):
        transactions.append(
            {
                "instr_id": r.text(tx, "PmtId/InstrId"),
                "end_to_end_id": r.text(tx, "PmtId/EndToEndId"),
                "tx_id": r.text(tx, "PmtId/TxId"),
                "uetr": r.text(tx, "PmtId/UETR"),
                "clearing_system_ref": r.text(tx, "PmtId/ClrSysRef"),
                "amount": r.amount(tx, "IntrBkSttlmAmt"),
                "instructed_amount": r.amount(tx, "InstdAmt"),
                "settlement_date": r.text(tx, "IntrBkSttlmDt"),
                "charge_bearer": r.text(tx, "ChrgBr"),
                "instructing_agent": r.agent(tx, "InstgAgt"),
                "instructed_agent": r.agent(tx, "InstdAgt"),
                "intermediary_agents": [a for a in (r.agent(tx, f"IntrmyAgt{i}") for i in (1, 2, 3)) if a is not None],
                "debtor": r.party(tx, "Dbtr"),
                "debtor_account": r.account(tx, "DbtrAcct"),
                "debtor_agent": r.agent(tx, "DbtrAgt"),
                "creditor_agent": r.agent(tx, "CdtrAgt"),
                "creditor": r.party(tx, "Cdtr"),
                "creditor_account": r.account(tx, "CdtrAcct"),
                "remittance": r.texts(tx, "RmtInf/Ustrd"),
            }
        )
    return {
        "msg_id": r.text(grp, "MsgId"),
        "created": r.text(grp, "CreDtTm"),
        "number_of_transactions": r.text(grp, "NbOfTxs"),
        "settlement_method": r.text(grp, "SttlmInf/SttlmMtd"),
        "transactions": transactions,
    }


def _status_reasons(r: _Reader, node: etree._Element) -> list[Json]:
    return [
        {
            "code": r.text(rsn, "Rsn/Cd"),
            "proprietary": r.text(rsn, "Rsn/Prtry"),
            "additional_info": r.texts(rsn, "AddtlInf"),
        }
        for rsn in r.all(node, "StsRsnInf")
    ]


def _pacs002(r: _Reader, body: etree._Element) -> Json:
    grp = r.one(body, "GrpHdr")
    groups = [
        {
            "original_msg_id": r.text(g, "OrgnlMsgId"),
            "original_msg_name": r.text(g, "OrgnlMsgNmId"),
            "group_status": r.text(g, "GrpSts"),
            "reasons": _status_reasons(r, g),
        }
        for g in r.all(body, "OrgnlGrpInfAndSts")
    ]
    transactions = [
        {
            "status_id": r.text(tx, "StsId"),
            "original_msg_id": r.text(tx, "OrgnlGrpInf/OrgnlMsgId"),
            "original_msg_name": r.text(tx, "OrgnlGrpInf/OrgnlMsgNmId"),
            "original_instr_id": r.text(tx, "OrgnlInstrId"),
            "original_end_to_end_id": r.text(tx, "OrgnlEndToEndId"),
            "original_tx_id": r.text(tx, "OrgnlTxId"),
            "original_uetr": r.text(tx, "OrgnlUETR"),
            "status": r.text(tx, "TxSts"),
            "reasons": _status_reasons(r, tx),
            "acceptance": r.date(tx, "AccptncDtTm"),
            "effective_settlement_date": r.date(tx, "FctvIntrBkSttlmDt"),
            "instructing_agent": r.agent(tx, "InstgAgt"),
            "instructed_agent": r.agent(tx, "InstdAgt"),
        }
        for tx in r.all(body, "TxInfAndSts")
    ]
    return {
        "msg_id": r.text(grp, "MsgId"),
        "created": r.text(grp, "CreDtTm"),
        "groups": groups,
        "transactions": transactions,
    }


def _signed(r: _Reader, node: etree._Element, path: str) -> Json | None:
    value = r.amount(node, path)
    if value is not None:
        value["credit_debit"] = r.text(node, "CdtDbtInd")
    return value


def _camt053(r: _Reader, body: etree._Element) -> Json:
    grp = r.one(body, "GrpHdr")
    statements = []
    for stmt in r.all(body, "Stmt"):
        balances = [
            {
                "type": r.text(bal, "Tp/CdOrPrtry/Cd") or r.text(bal, "Tp/CdOrPrtry/Prtry"),
                "amount": _signed(r, bal, "Amt"),
                "date": r.date(bal, "Dt"),
            }
            for bal in r.all(stmt, "Bal")
        ]
        entries = [
            {
                "reference": r.text(ntry, "NtryRef"),
                "amount": _signed(r, ntry, "Amt"),
                "reversal": r.text(ntry, "RvslInd"),
                "status": r.text(ntry, "Sts/Cd") or r.text(ntry, "Sts/Prtry"),
                "booking_date": r.date(ntry, "BookgDt"),
                "value_date": r.date(ntry, "ValDt"),
                "servicer_ref": r.text(ntry, "AcctSvcrRef"),
                "bank_tx_code": {
                    "domain": r.text(ntry, "BkTxCd/Domn/Cd"),
                    "family": r.text(ntry, "BkTxCd/Domn/Fmly/Cd"),
                    "subfamily": r.text(ntry, "BkTxCd/Domn/Fmly/SubFmlyCd"),
                    "proprietary": r.text(ntry, "BkTxCd/Prtry/Cd"),
                },
                "details": [
                    {
                        "msg_id": r.text(tx, "Refs/MsgId"),
                        "instr_id": r.text(tx, "Refs/InstrId"),
                        "end_to_end_id": r.text(tx, "Refs/EndToEndId"),
                        "uetr": r.text(tx, "Refs/UETR"),
                        "tx_id": r.text(tx, "Refs/TxId"),
                        "amount": _signed(r, tx, "Amt"),
                        "remittance": r.texts(tx, "RmtInf/Ustrd"),
                    }
                    for tx in r.all(ntry, "NtryDtls/TxDtls")
                ],
                "additional_info": r.text(ntry, "AddtlNtryInf"),
            }
            for ntry in r.all(stmt, "Ntry")
        ]
        statements.append(
            {
                "id": r.text(stmt, "Id"),
                "sequence": r.text(stmt, "ElctrncSeqNb"),
                "legal_sequence": r.text(stmt, "LglSeqNb"),
                "created": r.text(stmt, "CreDtTm"),
                "from": r.text(stmt, "FrToDt/FrDtTm"),
                "to": r.text(stmt, "FrToDt/ToDtTm"),
                "account": r.account(stmt, "Acct"),
                "account_servicer": r.agent(stmt, "Acct/Svcr"),
                "balances": balances,
                "entries": entries,
            }
        )
    return {"msg_id": r.text(grp, "MsgId"), "created": r.text(grp, "CreDtTm"), "statements": statements}


def _payment_ids(r: _Reader, tx: etree._Element) -> Json:
    return {
        "instr_id": r.text(tx, "PmtId/InstrId"),
        "end_to_end_id": r.text(tx, "PmtId/EndToEndId"),
        "uetr": r.text(tx, "PmtId/UETR"),
    }


def _pain001(r: _Reader, body: etree._Element) -> Json:
    grp = r.one(body, "GrpHdr")
    blocks = []
    for pmt in r.all(body, "PmtInf"):
        transactions = [
            {
                **_payment_ids(r, tx),
                "amount": r.amount(tx, "Amt/InstdAmt") or r.amount(tx, "Amt/EqvtAmt/Amt"),
                "charge_bearer": r.text(tx, "ChrgBr"),
                "creditor_agent": r.agent(tx, "CdtrAgt"),
                "creditor": r.party(tx, "Cdtr"),
                "creditor_account": r.account(tx, "CdtrAcct"),
                "remittance": r.texts(tx, "RmtInf/Ustrd"),
            }
            for tx in r.all(pmt, "CdtTrfTxInf")
        ]
        blocks.append(
            {
                "payment_info_id": r.text(pmt, "PmtInfId"),
                "method": r.text(pmt, "PmtMtd"),
                "batch_booking": r.text(pmt, "BtchBookg"),
                "number_of_transactions": r.text(pmt, "NbOfTxs"),
                "control_sum": r.text(pmt, "CtrlSum"),
                "requested_execution_date": r.date(pmt, "ReqdExctnDt"),
                "debtor": r.party(pmt, "Dbtr"),
                "debtor_account": r.account(pmt, "DbtrAcct"),
                "debtor_agent": r.agent(pmt, "DbtrAgt"),
                "charge_bearer": r.text(pmt, "ChrgBr"),
                "transactions": transactions,
            }
        )
    return {
        "msg_id": r.text(grp, "MsgId"),
        "created": r.text(grp, "CreDtTm"),
        "number_of_transactions": r.text(grp, "NbOfTxs"),
        "control_sum": r.text(grp, "CtrlSum"),
        "initiating_party": r.party(grp, "InitgPty"),
        "payment_blocks": blocks,
    }


def _pain008(r: _Reader, body: etree._Element) -> Json:
    grp = r.one(body, "GrpHdr")
    blocks = []
    for pmt in r.all(body, "PmtInf"):
        transactions = [
            {
                **_payment_ids(r, tx),
                "amount": r.amount(tx, "InstdAmt"),
                "mandate_id": r.text(tx, "DrctDbtTx/MndtRltdInf/MndtId"),
                "mandate_signed": r.text(tx, "DrctDbtTx/MndtRltdInf/DtOfSgntr"),
                "debtor_agent": r.agent(tx, "DbtrAgt"),
                "debtor": r.party(tx, "Dbtr"),
                "debtor_account": r.account(tx, "DbtrAcct"),
                "remittance": r.texts(tx, "RmtInf/Ustrd"),
            }
            for tx in r.all(pmt, "DrctDbtTxInf")
        ]
        blocks.append(
            {
                "payment_info_id": r.text(pmt, "PmtInfId"),
                "method": r.text(pmt, "PmtMtd"),
                "number_of_transactions": r.text(pmt, "NbOfTxs"),
                "control_sum": r.text(pmt, "CtrlSum"),
                "requested_collection_date": r.text(pmt, "ReqdColltnDt"),
                "sequence_type": r.text(pmt, "PmtTpInf/SeqTp"),
                "creditor": r.party(pmt, "Cdtr"),
                "creditor_account": r.account(pmt, "CdtrAcct"),
                "creditor_agent": r.agent(pmt, "CdtrAgt"),
                "creditor_scheme_id": r.text(pmt, "CdtrSchmeId/Id/PrvtId/Othr/Id"),
                "transactions": transactions,
            }
        )
    return {
        "msg_id": r.text(grp, "MsgId"),
        "created": r.text(grp, "CreDtTm"),
        "number_of_transactions": r.text(grp, "NbOfTxs"),
        "control_sum": r.text(grp, "CtrlSum"),
        "initiating_party": r.party(grp, "InitgPty"),
        "payment_blocks": blocks,
    }


_PARSERS: dict[str, Callable[[_Reader, etree._Element], Json]] = {
    "pacs.008.001.08": _pacs008,
    "pacs.002.001.10": _pacs002,
    "pacs.002.001.12": _pacs002,  # the same elements as .001.10 for everything read here
    "camt.053.001.08": _camt053,
    "pain.001.001.09": _pain001,
    "pain.008.001.08": _pain008,
}


def app_header(header: etree._Element | None) -> Json | None:
    """The routing fields of a head.001 business application header."""
    if header is None:
        return None
    r = _Reader(etree.QName(header).namespace or "")
    return {
        "from_bic": r.text(header, "Fr/FIId/FinInstnId/BICFI"),
        "to_bic": r.text(header, "To/FIId/FinInstnId/BICFI"),
        "biz_msg_id": r.text(header, "BizMsgIdr"),
        "msg_def_id": r.text(header, "MsgDefIdr"),
        "biz_service": r.text(header, "BizSvc"),
        "created": r.text(header, "CreDt"),
    }


def parse_document(message_type: str, document: etree._Element) -> Json:
    """The canonical dict for a validated Document of `message_type`."""
    r = _Reader(etree.QName(document).namespace or "")
    body = next(child for child in document if isinstance(child.tag, str))
    return _PARSERS[message_type](r, body)
