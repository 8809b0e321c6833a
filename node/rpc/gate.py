"""The checks every HTTP request on the RPC port passes, in the node and in its RPC workers alike.

Why one class for both: with `rpc.workers` the kernel hands a client's connection to whichever
process accepts it first, so a worker must refuse exactly what the node refuses (CORS, the client's
rate limit, credentials, `rpc.public_methods = "authenticated"`) or the workers would be a way
around the node's controls. Order per request: CORS preflight answered -> rate limit (HTTP 429 with
Retry-After, before any work) -> credentials checked (HTTP 401 if present and wrong) -> the
anonymous caller refused when the node answers only authenticated callers.

A worker forwards what it does not answer to the node's private endpoint with the client's address
and a per-start secret (WORKER_TOKEN_HEADER): the node then counts the request against that client,
not against the worker, and does not charge it twice (the worker already took its token).
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from aiohttp import web

from node.log import event
from node.rpc.auth import Authenticator, AuthError, Principal
from node.rpc.errors import LIMIT_EXCEEDED, UNAUTHORIZED, RpcError
from node.rpc.policy import AUTHENTICATED, RpcPolicy, method_class
from node.rpc.ratelimit import retry_after_header
from node.rpc.server import PRINCIPAL_KEY

log = logging.getLogger("qenex.rpc.gate")

CORS_HEADERS = "Content-Type, Authorization, X-API-Key"
# With rpc.public_methods = "authenticated" only the probes and the operator login stay open:
# GraphQL, the explorer's data and WebSocket upgrades need a credential like JSON-RPC calls.
OPEN_WHEN_AUTHENTICATED = frozenset({"/health", "/ready", "/admin/login"})
WORKER_TOKEN_HEADER = "X-Qenex-Worker-Token"
WORKER_CLIENT_HEADER = "X-Qenex-Client"
WORKER_TOKEN_ENV = "QENEX_RPC_WORKER_TOKEN"
FORWARDED_CREDENTIALS = ("Authorization", "X-API-Key")


class Limiter(Protocol):
    def take(self, client: str, now: float, cost: float = 1.0) -> float: ...


def rpc_error_response(error: RpcError, status: int, headers: Mapping[str, str] | None = None) -> web.Response:
    body = {"jsonrpc": "2.0", "id": None, "error": error.to_json()}
    return web.json_response(body, status=status, headers=headers)


def _unauthorized(message: str) -> web.Response:
    return rpc_error_response(RpcError(UNAUTHORIZED, message), 401, {"WWW-Authenticate": 'Bearer realm="qenex"'})


# What admit works out about a request, kept on it for finish, client and the audit log
_ORIGIN_KEY = "qenex.gate.origin"
_FORWARDED_KEY = "qenex.gate.forwarded"


class RequestGate:
    def __init__(self, policy: RpcPolicy, home: Path, limiter: Limiter | None, worker_token: str | None) -> None:
        self.policy = policy
        self.authenticator = Authenticator(policy, home)
        self.limiter = limiter
        self.worker_token = worker_token  # None: this process accepts no forwarded requests

    def forwarded_by_worker(self, request: web.Request) -> bool:
        """Does the request carry this start's worker secret? Worked out once per request."""
        known = request.get(_FORWARDED_KEY)
        if known is None:
            token = request.headers.get(WORKER_TOKEN_HEADER)
            known = request[_FORWARDED_KEY] = (
                self.worker_token is not None
                and token is not None
                and hmac.compare_digest(token.encode(), self.worker_token.encode())
            )
        return known

    def client(self, request: web.Request) -> str:
        """The caller's address: the one a worker vouches for, else the socket's peer."""
        if self.forwarded_by_worker(request):
            return request.headers.get(WORKER_CLIENT_HEADER, "unknown")
        return request.remote or "unknown"

    def cors_origin(self, request: web.Request) -> str | None:
        origin = request.headers.get("Origin")
        if origin is None or not self.policy.cors_origins:
            return None
        if "*" in self.policy.cors_origins:
            return "*"
        return origin if origin in self.policy.cors_origins else None

    def refuse_anonymous(self, method: str, caller: object) -> RpcError | None:
        """A public method called without a credential on a node that answers only authenticated callers."""
        anonymous_refused = self.policy.public_methods == "authenticated" and not isinstance(caller, Principal)
        if method_class(method) != AUTHENTICATED and anonymous_refused:
            return RpcError(UNAUTHORIZED, f"{method} needs a credential on this node (rpc.public_methods)")
        return None

    def admit(self, request: web.Request) -> web.Response | None:
        """None when the request may go on (its caller left under PRINCIPAL_KEY), else the answer."""
        allowed_origin = request[_ORIGIN_KEY] = self.cors_origin(request)
        if request.method == "OPTIONS" and request.headers.get("Access-Control-Request-Method"):
            if allowed_origin is None:
                return web.Response(status=403, text="origin not allowed (rpc.cors_origins)")
            return web.Response(status=204, headers={
                "Access-Control-Allow-Origin": allowed_origin, "Access-Control-Allow-Methods": "POST, GET, OPTIONS",
                "Access-Control-Allow-Headers": CORS_HEADERS, "Access-Control-Max-Age": "600", "Vary": "Origin",
            })  # fmt: skip
        if self.limiter is not None and not self.forwarded_by_worker(request):  # a worker charged it already
            client = self.client(request)
            wait_s = self.limiter.take(client, time.monotonic())
            if wait_s > 0:
                event(log, "rpc_rate_limited", logging.DEBUG, client=client)
                retry = retry_after_header(wait_s)
                message = f"rate limit of {self.policy.rate_per_s} requests/s exceeded; retry after {retry} s"
                error = RpcError(LIMIT_EXCEEDED, message, {"retryAfterSeconds": int(retry)})
                return rpc_error_response(error, 429, {"Retry-After": retry})
        try:
            request[PRINCIPAL_KEY] = self.authenticator.principal(request.headers)
        except AuthError as exc:
            return _unauthorized(f"authentication failed: {exc}")
        if (
            self.policy.public_methods == "authenticated"
            and request[PRINCIPAL_KEY] is None
            and request.path not in OPEN_WHEN_AUTHENTICATED
            and not (request.path == "/" and request.method == "POST")  # JSON-RPC: refused per call
        ):
            return _unauthorized("this node answers only authenticated callers")
        return None

    def finish(self, request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
        allowed_origin = request[_ORIGIN_KEY] if _ORIGIN_KEY in request else self.cors_origin(request)
        if allowed_origin is not None and not response.prepared:
            response.headers["Access-Control-Allow-Origin"] = allowed_origin
            response.headers["Vary"] = "Origin"
        return response

    def forward_headers(self, request: web.Request) -> dict[str, str]:
        """Headers a worker sends with a request it forwards: the credentials, the client, the secret."""
        assert self.worker_token is not None, "only a worker forwards"
        headers = {k: v for k in FORWARDED_CREDENTIALS if (v := request.headers.get(k)) is not None}
        return headers | {WORKER_TOKEN_HEADER: self.worker_token, WORKER_CLIENT_HEADER: self.client(request)}
