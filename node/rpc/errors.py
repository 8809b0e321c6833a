"""JSON-RPC error codes: JSON-RPC 2.0's own, and EIP-1474's for Ethereum servers."""

from __future__ import annotations

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
# EIP-1474
INVALID_INPUT = -32000  # e.g. a raw transaction that does not decode
RESOURCE_NOT_FOUND = -32001
TRANSACTION_REJECTED = -32003  # a well-formed transaction the node refuses; data.rule says why
LIMIT_EXCEEDED = -32005
# QENEX: a call that needs a credential (none or an invalid one given) / one the caller's role lacks
UNAUTHORIZED = -32010
FORBIDDEN = -32011
HTTP_STATUS = {UNAUTHORIZED: 401, FORBIDDEN: 403}  # a lone refused call answers with this status


class RpcError(Exception):
    def __init__(self, code: int, message: str, data: object = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_json(self) -> dict:
        error: dict = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


def invalid_params(message: str) -> RpcError:
    return RpcError(INVALID_PARAMS, message)
