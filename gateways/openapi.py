"""The OpenAPI 3.1 description of the gateway REST service (`gateways.service`), served at /openapi.json.

Written out as data rather than generated from the handlers: it is the contract a bank's integration
team codes against, so it is reviewed like code, and the tests check it is a valid OpenAPI document
and that every path it names answers as it says.
"""

from __future__ import annotations

from typing import Any

_PROBLEM = {
    "type": "object",
    "required": ["path", "rule", "found"],
    "properties": {"path": {"type": "string"}, "rule": {"type": "string"}, "found": {"type": "string"}},
}
_ERROR = {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}
_PAYMENT = {
    "type": "object",
    "required": ["state", "transferId"],
    "properties": {
        "state": {"enum": ["sent", "booked", "duplicate", "conflict", "rejected"]},
        "transferId": {"type": "string", "description": "0x + 32 hex digits, derived from the message"},
        "endToEndId": {"type": ["string", "null"]},
        "transactionHash": {"type": ["string", "null"]},
        "debit": {"type": "string"},
        "credit": {"type": "string"},
        "amount": {"type": "string", "description": "integer minor units, as text"},
        "currency": {"type": "string"},
        "uetr": {"type": ["string", "null"]},
        "status": {"type": ["string", "null"], "description": "receipt status (0x1: booked)"},
        "duplicate": {"type": "boolean"},
        "conflict": {"type": "string"},
        "error": {"type": "object"},
    },
}
_SUBMISSION = {
    "type": "object",
    "required": ["messageHash", "ok", "payments", "statusReport"],
    "properties": {
        "messageHash": {"type": "string", "description": "keccak256 of the posted bytes"},
        "ok": {"type": "boolean"},
        "payments": {"type": "array", "items": {"$ref": "#/components/schemas/Payment"}},
        "statusReport": {"type": "string", "description": "pacs.002 XML answering the message"},
    },
}


def _json(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": schema}}}}


def document(max_body_bytes: int) -> dict[str, Any]:
    """The OpenAPI document; `max_body_bytes` is stated so clients know the limit before they hit it."""
    message_hash = {"name": "hash", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "QENEX payment gateway",
            "version": "1",
            "description": "SWIFT MT / ISO 20022 messages in, signed ledger transactions, statements out.",
        },
        "paths": {
            "/messages": {
                "post": {
                    "summary": "Validate a message and book its payments (each once)",
                    "parameters": [
                        {
                            "name": "wait",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "boolean", "default": True},
                            "description": "wait for the receipts (states booked/rejected) or not (sent)",
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "description": f"the message file's bytes (MT103, MT202/COV, pacs.008, pain.001, pain.008); "
                        f"at most {max_body_bytes} bytes",
                        "content": {
                            "application/xml": {"schema": {"type": "string"}},
                            "text/plain": {"schema": {"type": "string"}},
                            "application/octet-stream": {"schema": {"type": "string"}},
                        },
                    },
                    "responses": {
                        "200": _json("#/components/schemas/Submission", "every payment booked, sent or a duplicate"),
                        "409": _json("#/components/schemas/Submission", "some payment refused or in conflict"),
                        "400": _json("#/components/schemas/Error", "empty body"),
                        "413": _json("#/components/schemas/Error", "body larger than the limit"),
                        "422": _json("#/components/schemas/Problems", "invalid message: nothing was booked"),
                        "502": _json("#/components/schemas/Error", "the node cannot be reached or refuses the chain"),
                    },
                }
            },
            "/messages/{hash}": {
                "get": {
                    "summary": "The outcome of a message submitted since the service started",
                    "parameters": [message_hash],
                    "responses": {
                        "200": _json("#/components/schemas/Submission", "the submission"),
                        "404": _json("#/components/schemas/Error", "unknown message hash"),
                    },
                }
            },
            "/messages/{hash}/pacs002": {
                "get": {
                    "summary": "The pacs.002 status report answering a submitted message",
                    "parameters": [message_hash],
                    "responses": {
                        "200": {
                            "description": "pacs.002",
                            "content": {"application/xml": {"schema": {"type": "string"}}},
                        },
                        "404": _json("#/components/schemas/Error", "unknown message hash"),
                    },
                }
            },
            "/statements/{account}": {
                "get": {
                    "summary": "Statement of a ledger account over a block range, from the on-chain journal",
                    "parameters": [
                        {"name": "account", "in": "path", "required": True, "schema": {"type": "string"}},
                        {
                            "name": "format",
                            "in": "query",
                            "required": False,
                            "schema": {"enum": ["camt053", "mt940", "mt950"], "default": "camt053"},
                        },
                        {"name": "fromBlock", "in": "query", "required": False, "schema": {"type": "integer"}},
                        {"name": "toBlock", "in": "query", "required": False, "schema": {"type": "integer"}},
                        {
                            "name": "bic",
                            "in": "query",
                            "required": False,
                            "description": "MT sender BIC; default: the bank of the account's IBAN",
                            "schema": {"type": "string"},
                        },
                        {
                            "name": "receiverBic",
                            "in": "query",
                            "required": False,
                            "description": "MT receiver BIC; default: the sender's",
                            "schema": {"type": "string"},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "camt.053.001.08 (XML) or MT940/MT950 (FIN text)",
                            "content": {
                                "application/xml": {"schema": {"type": "string"}},
                                "text/plain": {"schema": {"type": "string"}},
                            },
                        },
                        "400": _json("#/components/schemas/Error", "bad format or block range"),
                        "404": _json("#/components/schemas/Error", "no such account"),
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {}}}},
                }
            },
        },
        "components": {
            "schemas": {
                "Problem": _PROBLEM,
                "Problems": {
                    "type": "object",
                    "required": ["problems"],
                    "properties": {
                        "messageHash": {"type": "string"},
                        "problems": {"type": "array", "items": {"$ref": "#/components/schemas/Problem"}},
                    },
                },
                "Error": _ERROR,
                "Payment": _PAYMENT,
                "Submission": _SUBMISSION,
            }
        },
    }
