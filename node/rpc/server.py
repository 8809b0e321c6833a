"""The JSON-RPC 2.0 endpoint (aiohttp): parsing, limits, batches, dispatch.

Every request is bounded before it is parsed: body size, batch length and JSON nesting.
Errors follow JSON-RPC 2.0 (-32700 parse, -32600 invalid request, -32601 unknown method,
-32602 bad params, -32603 internal) and EIP-1474 for refused transactions.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from node.log import event
from node.rpc.errors import (
    HTTP_STATUS,
    INTERNAL_ERROR,
    INVALID_REQUEST,
    LIMIT_EXCEEDED,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    RpcError,
)

log = logging.getLogger("qenex.rpc")

MAX_BODY_BYTES = 8 * 1024 * 1024
MAX_BATCH = 2000
BATCH_SLICE = 32  # calls between two yields to the event loop
MAX_JSON_DEPTH = 32

Handler = Callable[[list[Any]], Any]
# Authorisation hook (node/rpc/guard.py): (method, caller) -> a refusal, or None to go ahead. The
# caller is what the HTTP middleware or the WebSocket upgrade authenticated (None: anonymous).
Authorize = Callable[[str, object], RpcError | None]
PRINCIPAL_KEY = "qenex.principal"  # where the guard middleware leaves the authenticated caller


def _depth(value: object, limit: int) -> bool:
    """True if `value` nests no deeper than `limit` (iterative: hostile input cannot recurse us)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return True


class _Rejected:
    """A body refused before dispatch, carrying its error response."""

    __slots__ = ("error",)

    def __init__(self, error: dict) -> None:
        self.error = error


def _error(request_id: object, error: RpcError) -> dict:
    return {"jsonrpc": "2.0", "id": request_id, "error": error.to_json()}


class JsonRpcServer:
    def __init__(
        self,
        methods: dict[str, Handler],
        prepare: Callable[[object], Awaitable[None]] | None = None,
        observe: Callable[[str, str, float], None] | None = None,
        authorize: Authorize | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
        max_batch: int = MAX_BATCH,
        max_json_depth: int = MAX_JSON_DEPTH,
    ):
        """`prepare` is awaited with each parsed request before dispatch (e.g. to verify a
        batch's signatures in parallel); it may only warm caches, never change the outcome.
        `observe(method, outcome, seconds)` is told about every call (metrics). `authorize`
        refuses calls the caller may not make (None: every caller may call every method)."""
        self.methods = methods
        self.prepare = prepare
        self.observe = observe
        self.authorize = authorize
        self.max_body_bytes = max_body_bytes
        self.max_batch = max_batch
        self.max_json_depth = max_json_depth

    def call(self, request: object, caller: object = None) -> dict | None:
        """One JSON-RPC request object to its response (None for a notification)."""
        if (
            not isinstance(request, dict)
            or request.get("jsonrpc") != "2.0"
            or not isinstance(request.get("method"), str)
        ):
            return _error(
                request.get("id") if isinstance(request, dict) else None,
                RpcError(INVALID_REQUEST, "a request is an object with jsonrpc '2.0' and a string method"),
            )
        request_id = request.get("id")
        method = request["method"]
        params = request.get("params", [])
        if not isinstance(params, list):
            return _error(request_id, RpcError(INVALID_REQUEST, "params must be an array"))
        handler = self.methods.get(method)
        if handler is None:
            return _error(request_id, RpcError(METHOD_NOT_FOUND, f"method {method!r} does not exist"))
        refusal = None if self.authorize is None else self.authorize(method, caller)
        if refusal is not None:
            return _error(request_id, refusal)
        started = time.perf_counter()
        outcome = "ok"
        try:
            result = handler(params)
        except RpcError as error:
            outcome = "error"
            response = _error(request_id, error)
        except Exception:
            outcome = "internal_error"
            log.exception("rpc_internal_error", extra={"fields": {"method": method}})
            response = _error(request_id, RpcError(INTERNAL_ERROR, f"internal error in {method}; see the node log"))
        else:
            response = {"jsonrpc": "2.0", "id": request_id, "result": result}
        if self.observe is not None:
            self.observe(method, outcome, time.perf_counter() - started)
        return response if "id" in request else None

    def handle_body(self, body: bytes) -> object:
        payload = self.parse(body, self.max_json_depth)
        return payload.error if isinstance(payload, _Rejected) else self.dispatch(payload)

    @staticmethod
    def parse(body: bytes, max_json_depth: int = MAX_JSON_DEPTH) -> object:
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return _Rejected(_error(None, RpcError(PARSE_ERROR, "the request body is not valid JSON")))
        if not _depth(payload, max_json_depth):
            return _Rejected(
                _error(None, RpcError(INVALID_REQUEST, f"JSON nested deeper than {max_json_depth} levels"))
            )
        return payload

    def _batch_refusal(self, payload: list) -> dict | None:
        if not payload:
            return _error(None, RpcError(INVALID_REQUEST, "an empty batch is not a request"))
        if len(payload) > self.max_batch:
            return _error(
                None, RpcError(LIMIT_EXCEEDED, f"batch of {len(payload)} exceeds the limit of {self.max_batch}")
            )
        return None

    def dispatch(self, payload: object, caller: object = None) -> object:
        if isinstance(payload, list):
            refusal = self._batch_refusal(payload)
            if refusal is not None:
                return refusal
            responses = [r for r in (self.call(item, caller) for item in payload) if r is not None]
            return responses or None
        return self.call(payload, caller)

    async def dispatch_yielding(self, payload: object, caller: object = None) -> object:
        """`dispatch`, giving the event loop back every BATCH_SLICE calls: a batch of admissions
        takes tens of milliseconds, and consensus messages must not wait behind it."""
        if not isinstance(payload, list) or self._batch_refusal(payload) is not None:
            return self.dispatch(payload, caller)
        responses = []
        for index, item in enumerate(payload):
            if index and index % BATCH_SLICE == 0:
                await asyncio.sleep(0)
            response = self.call(item, caller)
            if response is not None:
                responses.append(response)
        return responses or None

    async def http_handler(self, request: web.Request) -> web.StreamResponse:
        if request.method == "GET":
            return web.json_response({"service": "qenex JSON-RPC", "usage": "POST a JSON-RPC 2.0 request"})
        limit = self.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            return web.json_response(
                _error(None, RpcError(LIMIT_EXCEEDED, f"request body exceeds {limit} bytes")), status=413
            )
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.content.iter_chunked(64 * 1024):  # read() alone may return a part
            size += len(chunk)
            if size > limit:
                return web.json_response(
                    _error(None, RpcError(LIMIT_EXCEEDED, f"request body exceeds {limit} bytes")), status=413
                )
            chunks.append(chunk)
        payload = self.parse(b"".join(chunks), self.max_json_depth)
        if isinstance(payload, _Rejected):
            result = payload.error
        else:
            if self.prepare is not None and isinstance(payload, list) and len(payload) <= self.max_batch:
                await self.prepare(payload)
            result = await self.dispatch_yielding(payload, request.get(PRINCIPAL_KEY))
        if result is None:
            return web.Response(status=204)
        status = 200
        if isinstance(result, dict) and "error" in result:
            event(log, "rpc_error", logging.DEBUG, code=result["error"]["code"])
            status = HTTP_STATUS.get(result["error"]["code"], 200)  # a lone refused call: 401/403
        return web.json_response(result, status=status, dumps=lambda v: json.dumps(v, separators=(",", ":")))
