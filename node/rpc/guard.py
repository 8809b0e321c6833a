"""The RPC port's gatekeeper in the node: the request gate (node/rpc/gate.py: CORS, rate limit,
credentials), method authorisation, the operator login endpoints, and the audit of every login and
admin call.

JSON-RPC asks `authorize(method, caller)` per call, so a batch mixing public reads and an admin
call answers the reads and refuses only the admin call.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from node.audit import AuditLog, verify_log
from node.operators import LoginRefused, OperatorError, OperatorStore
from node.rpc.auth import Principal, ensure_jwt_secret
from node.rpc.errors import FORBIDDEN, UNAUTHORIZED, RpcError
from node.rpc.gate import RequestGate
from node.rpc.policy import AUTHENTICATED, RpcPolicy, method_class, roles_for
from node.rpc.ratelimit import RateLimiter, SharedRateLimiter
from node.rpc.server import PRINCIPAL_KEY
from node.secret_files import check_home_secrets
from node.sessions import SESSION_DEFAULT_S, SESSION_MAX_S, SessionError, Sessions

if TYPE_CHECKING:
    from node.service import Node

log = logging.getLogger("qenex.rpc.guard")

LOGIN_BODY_BYTES_MAX = 4096
RATE_TABLE_FILE = "rpc-rate-limits.bin"  # shared with the RPC workers (node/rpc/ratelimit.py)


class RpcGuard:
    def __init__(self, node: Node, policy: RpcPolicy) -> None:
        self.node = node
        self.policy = policy
        self.home = node.config.home
        self.worker_token = secrets.token_hex(32) if node.config.rpc_workers else None
        self.gate = RequestGate(policy, self.home, self._limiter(), self.worker_token)
        self.audit = AuditLog(self.home)
        self.operators = OperatorStore(self.home)
        self.sessions = Sessions(self.home)
        self._login_lock = threading.Lock()  # one login at a time: the operators file is read-modify-write

    def _limiter(self) -> RateLimiter | SharedRateLimiter | None:
        """In-process buckets, or with RPC workers one table all the processes share."""
        if self.policy.rate_per_s == 0:
            return None
        if not self.node.config.rpc_workers:
            return RateLimiter(self.policy.rate_per_s, self.policy.rate_burst)
        table = SharedRateLimiter.create(self.home / RATE_TABLE_FILE)
        return SharedRateLimiter(table, self.policy.rate_per_s, self.policy.rate_burst)

    # --- JSON-RPC method authorisation -----------------------------------------------------------

    def authorize(self, method: str, caller: object) -> RpcError | None:
        principal = caller if isinstance(caller, Principal) else None
        if method_class(method) != AUTHENTICATED:
            return self.gate.refuse_anonymous(method, principal)
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

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        refusal = self.gate.admit(request)
        if refusal is not None:
            return refusal
        return self.gate.finish(request, await handler(request))

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
            self.audit.append(name[:64], "login", "refused", reason=refused.reason, client=self.gate.client(request))
            headers = {"Retry-After": str(refused.retry_after_s)} if refused.retry_after_s else None
            message = "operator locked; try later" if refused.retry_after_s else "login refused"
            return web.json_response({"error": message}, status=401, headers=headers)
        except (SessionError, OperatorError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        session = self.sessions.verify(token)
        client = self.gate.client(request)
        self.audit.append(name, "login", "ok", client=client, jti=session.jti, expires=session.expires)
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
        self.audit.append(session.operator, "logout", "ok", jti=session.jti, client=self.gate.client(request))
        return web.json_response({"revoked": session.jti})

    async def whoami(self, request: web.Request) -> web.Response:
        principal = request.get(PRINCIPAL_KEY)
        if not isinstance(principal, Principal):
            return web.json_response({"error": "no credential given"}, status=401)
        return web.json_response({"name": principal.name, "roles": sorted(principal.roles), "via": principal.via})


def check_rpc_policy(config: object) -> None:
    """Refuse to start with a secret file others can read."""
    policy: RpcPolicy = config.rpc_policy  # type: ignore[attr-defined]
    if policy.jwt_secret_file is not None:
        ensure_jwt_secret(policy.jwt_secret_file)
    check_home_secrets(config.home, (policy.jwt_secret_file, policy.api_keys_file, policy.tls_key_file))  # type: ignore[attr-defined]


def install(app: web.Application, guard: RpcGuard) -> None:
    app.middlewares.append(guard.middleware)
    app.router.add_post("/admin/login", guard.login)
    app.router.add_post("/admin/logout", guard.logout)
    app.router.add_get("/admin/session", guard.whoami)
