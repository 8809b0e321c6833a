"""Who is calling: credentials on an RPC request, turned into a Principal (or refused).

Three credentials, checked in this order:
- `Authorization: Bearer <JWT>` signed HS256 with the secret file (rpc.jwt_secret), as Ethereum's
  engine API does it: the token carries `iat` and is accepted only within +-60 s of the node's
  clock, so a token seen on the wire is useless a minute later. It stands for the node's own
  tooling, with the roles of rpc.jwt_roles (operator unless configured).
- `Authorization: Bearer <session>`: an operator session from POST /admin/login (node/sessions.py),
  with the operator's role.
- `X-API-Key: <key>`: a key from rpc.api_keys, bound to one role of ledger/authz.py ROLES. The file
  keeps only SHA-256 of each key, so reading it does not give the keys away.
No credential at all is the anonymous caller; a credential that is present but wrong is refused
outright (HTTP 401), never quietly treated as anonymous.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import jwt

from ledger.authz import ROLES
from node.rpc.policy import RpcPolicy
from node.secret_files import check_private, write_private
from node.sessions import SessionError, Sessions

JWT_IAT_WINDOW_S = 60
TOKEN_BYTES_MAX = 4096
API_KEY_BYTES_MAX = 256
API_KEYS_BYTES_MAX = 1024 * 1024


class AuthError(Exception):
    """A credential that does not authenticate; the message says what is wrong with it."""


@dataclass(frozen=True)
class Principal:
    name: str
    roles: frozenset[str]
    via: str  # "jwt", "session", "api_key"

    def may(self, allowed: frozenset[str] | None) -> bool:
        return allowed is None or bool(self.roles & allowed)


def read_jwt_secret(path: Path) -> bytes:
    check_private(path)
    text = path.read_text().strip().removeprefix("0x")
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        raise AuthError(f"{path} must hold a hex secret (`qenex rpc jwt-secret` writes one)") from None
    if len(secret) < 32:
        raise AuthError(f"{path}: a JWT secret has at least 32 bytes, this one {len(secret)}")
    return secret


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def load_api_keys(path: Path) -> dict[str, dict]:
    """{sha256 of key: {"name", "role"}} from the keys file (absent: none)."""
    if not path.exists():
        return {}
    check_private(path)
    if path.stat().st_size > API_KEYS_BYTES_MAX:
        raise AuthError(f"{path} is larger than {API_KEYS_BYTES_MAX} bytes")
    entries = json.loads(path.read_text()).get("keys", [])
    for entry in entries:
        if entry.get("role") not in ROLES:
            raise AuthError(f"{path}: key {entry.get('name')!r} has role {entry.get('role')!r}, not one of ROLES")
    return {entry["sha256"]: entry for entry in entries}


def save_api_keys(path: Path, by_hash: dict[str, dict]) -> None:
    write_private(path, (json.dumps({"keys": list(by_hash.values())}, indent=2) + "\n").encode())


class Authenticator:
    def __init__(self, policy: RpcPolicy, home: Path) -> None:
        self.policy = policy
        self.sessions = Sessions(home)
        self.jwt_secret = None
        if policy.jwt_secret_file is not None and policy.jwt_secret_file.exists():
            self.jwt_secret = read_jwt_secret(policy.jwt_secret_file)
        self._keys_stamp: tuple[float, int] | None = None
        self._keys: dict[str, dict] = {}

    def _api_keys(self) -> dict[str, dict]:
        """Re-read when the file changes: `qenex rpc api-key add/remove` takes effect without restart."""
        path = self.policy.api_keys_file
        if path is None or not path.exists():
            return {}
        stat = path.stat()
        stamp = (stat.st_mtime, stat.st_size)
        if stamp != self._keys_stamp:
            self._keys, self._keys_stamp = load_api_keys(path), stamp
        return self._keys

    def principal(self, headers: Mapping[str, str], now: float | None = None) -> Principal | None:
        """The caller, None when no credential was given; AuthError when one is given and wrong."""
        authorization = headers.get("Authorization")
        if authorization is not None:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise AuthError("Authorization must be 'Bearer <token>'")
            return self._bearer(token.strip(), time.time() if now is None else now)
        key = headers.get("X-API-Key")
        if key is not None:
            if len(key) > API_KEY_BYTES_MAX:
                raise AuthError("API key too long")
            digest = hash_api_key(key)
            for known, entry in self._api_keys().items():
                if hmac.compare_digest(known, digest):
                    return Principal(entry["name"], frozenset({entry["role"]}), "api_key")
            raise AuthError("unknown API key")
        return None

    def _bearer(self, token: str, now: float) -> Principal:
        if len(token) > TOKEN_BYTES_MAX:
            raise AuthError("token too long")
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise AuthError(f"not a JWT: {exc}") from None
        if header.get("alg") != "HS256":
            raise AuthError(f"JWT algorithm must be HS256, not {header.get('alg')!r}")
        if claims.get("typ") == "qenex-operator-session":
            try:
                session = self.sessions.verify(token, now)
            except SessionError as exc:
                raise AuthError(str(exc)) from None
            return Principal(session.operator, frozenset({session.role}), "session")
        if self.jwt_secret is None:
            raise AuthError("JWT authentication is not configured on this node (rpc.jwt_secret)")
        try:
            claims = jwt.decode(token, self.jwt_secret, algorithms=["HS256"], options={"verify_iat": False})
        except jwt.ExpiredSignatureError:
            raise AuthError("token expired") from None
        except jwt.PyJWTError as exc:
            raise AuthError(f"invalid token: {exc}") from None
        iat = claims.get("iat")
        if not isinstance(iat, int | float) or isinstance(iat, bool):
            raise AuthError("token has no iat claim")
        if abs(now - iat) > JWT_IAT_WINDOW_S:
            raise AuthError(f"token iat {int(iat)} is more than {JWT_IAT_WINDOW_S} s from the node's clock {int(now)}")
        return Principal(str(claims.get("id", "jwt")), frozenset(self.policy.jwt_roles), "jwt")


def ensure_jwt_secret(path: Path) -> None:
    """Create the secret (32 random bytes, hex, mode 0600) if it is not there, as geth does for its
    engine API: tools with access to HOME (`qenex cache verify`) can then authenticate at once."""
    if not path.exists():
        write_private(path, (secrets.token_bytes(32).hex() + "\n").encode())


def home_credentials(home: Path, secret_name: str = "jwt.hex") -> dict[str, str]:
    """HTTP headers authenticating a local tool through HOME's JWT secret ({} when there is none)."""
    path = Path(home) / secret_name
    if not path.exists():
        return {}
    return {"Authorization": f"Bearer {make_jwt(read_jwt_secret(path))}"}


def make_jwt(secret: bytes, now: float | None = None) -> str:
    """A token for the secret holder (what `qenex rpc jwt-token` prints for curl and scripts)."""
    return jwt.encode({"iat": int(time.time() if now is None else now)}, secret, algorithm="HS256")
