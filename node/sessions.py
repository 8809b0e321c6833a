"""Operator sessions: short-lived HS256 JWTs the node issues at login, and their revocation.

A session token stands for one operator with one role until `exp` (at most SESSION_MAX_S: a
stolen token is useful for one working day at most). It is signed with HOME/operator-session.key,
a secret separate from the RPC JWT secret (that one stands for the node's own tooling, every
role). Revocation: a logout adds the token's `jti` to HOME/revoked-sessions.json (kept until the
token would have expired anyway); `qenex operator revoke NAME` ends all of an operator's sessions
by moving its `sessions_valid_after`; a removed operator's tokens stop working at once.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import jwt

from node.operators import Operator, OperatorStore
from node.secret_files import check_private, write_private

SESSION_KEY_FILE = "operator-session.key"
REVOKED_FILE = "revoked-sessions.json"
SESSION_MAX_S = 8 * 3600
SESSION_DEFAULT_S = 3600
TOKEN_TYPE = "qenex-operator-session"
TOKEN_BYTES_MAX = 4096


class SessionError(Exception):
    """A session token that does not (or no longer) authenticate anyone; the message says why."""


@dataclass(frozen=True)
class Session:
    operator: str
    role: str
    jti: str
    expires: int


def session_key(home: Path) -> bytes:
    """The signing key, created (32 random bytes, mode 0600) on first use."""
    path = Path(home) / SESSION_KEY_FILE
    if not path.exists():
        write_private(path, os.urandom(32).hex().encode())
    check_private(path)
    key = bytes.fromhex(path.read_text().strip())
    assert len(key) == 32, f"{path} must hold 32 hex bytes"
    return key


class Sessions:
    def __init__(self, home: Path) -> None:
        self.home = Path(home)
        self.store = OperatorStore(home)
        self.revoked_path = self.home / REVOKED_FILE

    def issue(self, operator: Operator, lifetime_s: int = SESSION_DEFAULT_S, now: float | None = None) -> str:
        if not 60 <= lifetime_s <= SESSION_MAX_S:
            raise SessionError(f"a session lasts 60..{SESSION_MAX_S} s, not {lifetime_s}")
        now = time.time() if now is None else now
        claims = {
            "typ": TOKEN_TYPE, "sub": operator.name, "role": operator.role, "jti": os.urandom(16).hex(),
            "iat": int(now), "exp": int(now) + lifetime_s,
        }  # fmt: skip
        return jwt.encode(claims, session_key(self.home), algorithm="HS256")

    def _revoked(self) -> dict[str, int]:
        if not self.revoked_path.exists():
            return {}
        return json.loads(self.revoked_path.read_text())

    def revoke(self, token_session: Session) -> None:
        revoked = {jti: exp for jti, exp in self._revoked().items() if exp > time.time()}
        revoked[token_session.jti] = token_session.expires
        write_private(self.revoked_path, json.dumps(revoked).encode())

    def verify(self, token: str, now: float | None = None) -> Session:
        """The session a token stands for; SessionError naming what is wrong otherwise."""
        if len(token) > TOKEN_BYTES_MAX:
            raise SessionError("token too long")
        try:
            claims = jwt.decode(
                token, session_key(self.home), algorithms=["HS256"],
                options={"require": ["exp", "iat", "jti", "sub"], "verify_exp": False, "verify_iat": False},
            )  # fmt: skip
        except jwt.PyJWTError as exc:
            raise SessionError(f"invalid session token: {exc}") from None
        now = time.time() if now is None else now
        if claims.get("typ") != TOKEN_TYPE:
            raise SessionError("not a session token")
        if claims["exp"] <= now:
            raise SessionError("session expired; log in again")
        if claims["exp"] - claims["iat"] > SESSION_MAX_S:
            raise SessionError(f"session longer than {SESSION_MAX_S} s")
        if claims["jti"] in self._revoked():
            raise SessionError("session revoked (logged out)")
        operator = self.store.load().get(claims["sub"])
        if operator is None:
            raise SessionError(f"operator {claims['sub']!r} no longer exists")
        if operator.sessions_valid_after and claims["iat"] <= operator.sessions_valid_after:
            raise SessionError("session revoked (all sessions of this operator were ended)")
        return Session(operator.name, operator.role, claims["jti"], claims["exp"])
