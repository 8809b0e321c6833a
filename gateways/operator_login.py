"""`qenex gateway serve --require-login`: the REST service answers only logged-in operators.

Operators log in at their node (`POST /admin/login`, password + TOTP; `qenex operator login`) and
send the session token to the gateway as `Authorization: Bearer`. The gateway does not keep its own
user database: it asks the node who the token is (`GET /admin/session`), so lockout, expiry,
revocation and the audit of the login all stay in one place. Like every gateway call to the node,
this is plain HTTP to the node's public port. `GET /openapi.json` stays open.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import aiohttp
from aiohttp import web

# Roles (ledger/authz.py ROLES) whose operators may use the gateway's REST service.
GATEWAY_ROLES = frozenset({"operator", "gateway"})
OPEN_PATHS = frozenset({"/openapi.json"})
SESSION_REPLY_BYTES_MAX = 16 * 1024


def install(app: web.Application, node_url: str) -> None:
    """Put the login check in front of every route but OPEN_PATHS."""
    middleware, close = login_middleware(node_url)
    app.middlewares.append(middleware)
    app.on_cleanup.append(close)


def login_middleware(node_url: str) -> tuple[Callable, Callable[[web.Application], Awaitable[None]]]:
    session_url = node_url.rstrip("/") + "/admin/session"
    client: dict[str, aiohttp.ClientSession] = {}

    @web.middleware
    async def require_login(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.path in OPEN_PATHS:
            return await handler(request)
        authorization = request.headers.get("Authorization")
        if not authorization or not authorization.lower().startswith("bearer "):
            return web.json_response({"error": "log in at the node (qenex operator login) and send "
                                               "Authorization: Bearer <session>"}, status=401)  # fmt: skip
        if "session" not in client:
            client["session"] = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        try:
            async with client["session"].get(session_url, headers={"Authorization": authorization}) as reply:
                status, body = reply.status, await reply.content.read(SESSION_REPLY_BYTES_MAX)
        except aiohttp.ClientError as exc:
            return web.json_response({"error": f"cannot check the session at the node: {exc}"}, status=502)
        if status != 200:
            return web.json_response({"error": "session not accepted by the node"}, status=401)
        who = json.loads(body)
        if who.get("via") != "session":
            return web.json_response({"error": "an operator session is needed (not a JWT or API key)"}, status=401)
        if not GATEWAY_ROLES & set(who.get("roles", ())):
            wanted = ", ".join(sorted(GATEWAY_ROLES))
            message = f"operator {who.get('name')} has roles {who.get('roles')}; the gateway needs one of {wanted}"
            return web.json_response({"error": message}, status=403)
        request["operator"] = who["name"]
        return await handler(request)

    async def close(app: web.Application) -> None:
        if "session" in client:
            await client["session"].close()

    return require_login, close
