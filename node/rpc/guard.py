"""The RPC port's gatekeeper: CORS, per-client rate limit, authentication, method authorisation,
the operator login endpoints, and the audit of every login and admin call.

Order for each HTTP request (the middleware): CORS preflight answered -> rate limit (HTTP 429 with
Retry-After, before any work) -> credentials checked (HTTP 401 if present and wrong) -> the route.
JSON-RPC then asks `authorize(method, caller)` per call, so a batch mixing public reads and an
admin call answers the reads and refuses only the admin call.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from node.audit import AuditLog, verify_log
from node.log import event
from node.operators import LoginRefused, OperatorError, OperatorStore
from node.rpc.auth import Authenticator, AuthError, Principal, ensure_jwt_secret
from node.rpc.errors import FORBIDDEN, LIMIT_EXCEEDED, UNAUTHORIZED, RpcError
from node.rpc.policy import AUTHENTICATED, RpcPolicy, method_class, roles_for
from node.rpc.ratelimit import RateLimiter, retry_after_header
from node.rpc.server import PRINCIPAL_KEY
from node.secret_files import check_home_secrets
from node.sessions import SESSION_DEFAULT_S, SESSION_MAX_S, SessionError, Sessions

if TYPE_CHECKING:
    from node.service import Node

log = logging.getLogger("qenex.rpc.guard")

LOGIN_BODY_BYTES_MAX = 4096
CORS_HEADERS = "Content-Type, Authorization, X-API-Key"
# With rpc.public_methods = "authenticated" only the probes and the operator login stay open:
# GraphQL, the explorer's data and WebSocket upgrades need a credential like JSON-RPC calls.
OPEN_WHEN_AUTHENTICATED = frozenset({"/health", "/ready", "/admin/login"})


def _rpc_error_response(error: RpcError, status: int, headers: dict[str, str] | None = None) -> web.Response:
    body = {"jsonrpc": "2.0", "id": None, "error": error.to_json()}
    return web.json_response(body, status=status, headers=headers)


class RpcGuard:
    def __init__(self, node: Node, policy: RpcPolicy) -> None:
        self.node = node
        self.policy = policy
        self.home = node.config.home
        self.authenticator = Authenticator(policy, self.home)
        self.limiter = None if policy.rate_per_s == 0 else RateLimiter(policy.rate_per_s, policy.rate_burst)
        self.audit = AuditLog(self.home)
        self.operators = OperatorStore(self.home)
        self.sessions = Sessions(self.home)
        self._login_lock = threading.Lock()  # one login at a time: the operators file is read-modify-write

    # --- JSON-RPC method authorisation -----------------------------------------------------------

    def authorize(self, method: str, caller: object) -> RpcError | None:
        principal = caller if isinstance(caller, Principal) else None
        if method_class(method) != AUTHENTICATED:
            if self.policy.public_methods == "authenticated" and principal is None:
                return RpcError(UNAUTHORIZED, f"{method} needs a credential on this node (rpc.public_methods)")
            return None
        if principal is None:
            return RpcError(UNAUTHORIZED, f"{method} needs authentication: a JWT, an operator session or an API key")
        allowed = roles_for(method)
        if not principal.may(allowed):
            self.audit.append(principal.name, method, "forbidden", via=principal.via, roles=sorted(principal.roles))
            wanted = ", ".join(sorted(allowed or ()))
            return RpcError(FORBIDDEN, f"{method} needs one of the roles {wanted}; {principal.name} has "
                                       f"{', '.join(sorted(principal.roles))}")  # fmt: skip
        self.audit.append(principal.name, method, "called", via=principal.via)
        return None

    def admin_methods(self) -> dict[str, Callable[[list], object]]:
        """admin_* methods of the node itself (authenticated by their prefix)."""
        return {
            "admin_nodeInfo": self._node_info,
            "admin_auditVerify": self._audit_verify,
            "admin_operators": lambda p: [op.public() for op in self.operators.load().values()],
        }

    def _node_info(self, params: list) -> dict:
        return {
            "address": self.node.address, "chainId": hex(self.node.genesis.chain_id),
            "height": hex(self.node.chain.height), "tls": self.policy.tls, "publicMethods": self.policy.public_methods,
        }  # fmt: skip

    def _audit_verify(self, params: list) -> dict:
        count, problems = verify_log(self.home)
        return {"entries": count, "ok": not problems, "problems": [str(p) for p in problems]}

    # --- HTTP middleware -------------------------------------------------------------------------

    def _cors_origin(self, request: web.Request) -> str | None:
        origin = request.headers.get("Origin")
        if origin is None or not self.policy.cors_origins:
            return None
        if "*" in self.policy.cors_origins:
            return "*"
        return origin if origin in self.policy.cors_origins else None

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        allowed_origin = self._cors_origin(request)
        if request.method == "OPTIONS" and request.headers.get("Access-Control-Request-Method"):
            if allowed_origin is None:
                return web.Response(status=403, text="origin not allowed (rpc.cors_origins)")
            return web.Response(status=204, headers={
                "Access-Control-Allow-Origin": allowed_origin, "Access-Control-Allow-Methods": "POST, GET, OPTIONS",
                "Access-Control-Allow-Headers": CORS_HEADERS, "Access-Control-Max-Age": "600", "Vary": "Origin",
            })  # fmt: skip
        if self.limiter is not None:
            wait_s = self.limiter.take(request.remote or "unknown", time.monotonic())
            if wait_s > 0:
                event(log, "rpc_rate_limited", logging.DEBUG, client=request.remote)
                retry = retry_after_header(wait_s)
                message = f"rate limit of {self.policy.rate_per_s} requests/s exceeded; retry after {retry} s"
                error = RpcError(LIMIT_EXCEEDED, message, {"retryAfterSeconds": int(retry)})
                return _rpc_error_response(error, 429, {"Retry-After": retry})
        try:
            request[PRINCIPAL_KEY] = self.authenticator.principal(request.headers)
        except AuthError as exc:
            return _rpc_error_response(RpcError(UNAUTHORIZED, f"authentication failed: {exc}"), 401,
                                       {"WWW-Authenticate": 'Bearer realm="qenex"'})  # fmt: skip
        if (
            self.policy.public_methods == "authenticated"
            and request[PRINCIPAL_KEY] is None
            and request.path not in OPEN_WHEN_AUTHENTICATED
            and not (request.path == "/" and request.method == "POST")  # JSON-RPC: refused per call
        ):
            return _rpc_error_response(RpcError(UNAUTHORIZED, "this node answers only authenticated callers"), 401,
                                       {"WWW-Authenticate": 'Bearer realm="qenex"'})  # fmt: skip
        response = await handler(request)
        if allowed_origin is not None and not response.prepared:
            response.headers["Access-Control-Allow-Origin"] = allowed_origin
            response.headers["Vary"] = "Origin"
        return response

    # --- operator login --------------------------------------------------------------------------

    async def login(self, request: web.Request) -> web.Response:
        body = await request.content.read(LOGIN_BODY_BYTES_MAX + 1)
        if len(body) > LOGIN_BODY_BYTES_MAX:
            return web.json_response({"error": f"login body over {LOGIN_BODY_BYTES_MAX} bytes"}, status=413)
        try:
            fields = json.loads(body)
            name, password, code = fields["operator"], fields["password"], fields["totp"]
            lifetime_s = fields.get("lifetime_s", SESSION_DEFAULT_S)
            if not all(isinstance(v, str) for v in (name, password, code)) or not isinstance(lifetime_s, int):
                raise TypeError
        except (ValueError, KeyError, TypeError, RecursionError):  # RecursionError: JSON nested thousands deep
            return web.json_response(
                {"error": 'send {"operator": str, "password": str, "totp": str, "lifetime_s"?: int}'}, status=400
            )

        if not 60 <= lifetime_s <= SESSION_MAX_S:  # before the check: a refused request spends no TOTP code
            return web.json_response({"error": f"lifetime_s must be in 60..{SESSION_MAX_S}"}, status=400)

        def check() -> str:
            with self._login_lock:
                operator = self.operators.check_login(name, password, code)
                return self.sessions.issue(operator, lifetime_s)

        try:
            token = await asyncio.to_thread(check)
        except LoginRefused as refused:
            self.audit.append(name[:64], "login", "refused", reason=refused.reason, client=request.remote)
            headers = {"Retry-After": str(refused.retry_after_s)} if refused.retry_after_s else None
            message = "operator locked; try later" if refused.retry_after_s else "login refused"
            return web.json_response({"error": message}, status=401, headers=headers)
        except (SessionError, OperatorError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        session = self.sessions.verify(token)
        self.audit.append(name, "login", "ok", client=request.remote, jti=session.jti, expires=session.expires)
        return web.json_response({"token": token, "operator": name, "role": session.role, "expires": session.expires})

    def _session_of(self, request: web.Request) -> tuple[str, object]:
        authorization = request.headers.get("Authorization", "")
        return authorization.partition(" ")[2].strip(), request.get(PRINCIPAL_KEY)

    async def logout(self, request: web.Request) -> web.Response:
        token, principal = self._session_of(request)
        if not isinstance(principal, Principal) or principal.via != "session":
            return web.json_response({"error": "send the session token as Authorization: Bearer"}, status=401)
        session = self.sessions.verify(token)
        self.sessions.revoke(session)
        self.audit.append(session.operator, "logout", "ok", jti=session.jti, client=request.remote)
        return web.json_response({"revoked": session.jti})

    async def whoami(self, request: web.Request) -> web.Response:
        principal = request.get(PRINCIPAL_KEY)
        if not isinstance(principal, Principal):
            return web.json_response({"error": "no credential given"}, status=401)
        return web.json_response({"name": principal.name, "roles": sorted(principal.roles), "via": principal.via})


def check_rpc_policy(config: object) -> None:
    """Refuse to start with a secret file others can read, or settings the workers cannot honour."""
    policy: RpcPolicy = config.rpc_policy  # type: ignore[attr-defined]
    if policy.jwt_secret_file is not None:
        ensure_jwt_secret(policy.jwt_secret_file)
    check_home_secrets(config.home, (policy.jwt_secret_file, policy.api_keys_file, policy.tls_key_file))  # type: ignore[attr-defined]
    if config.rpc_workers and (policy.tls or policy.public_methods == "authenticated"):  # type: ignore[attr-defined]
        raise OSError(
            'rpc.workers > 0 cannot be combined with rpc.tls_cert or rpc.public_methods = "authenticated" yet: '
            "workers answer reads on the shared socket without TLS or credentials; set rpc.workers = 0"
        )


def install(app: web.Application, guard: RpcGuard) -> None:
    app.middlewares.append(guard.middleware)
    app.router.add_post("/admin/login", guard.login)
    app.router.add_post("/admin/logout", guard.logout)
    app.router.add_get("/admin/session", guard.whoami)
