"""Operators of a node: password + TOTP login, lockout after failures, stored in HOME/operators.json.

Why each piece:
- PBKDF2-HMAC-SHA256 with 600,000 iterations (OWASP 2023 for PBKDF2-SHA256) and a 16-byte salt
  per operator: a stolen file costs an attacker that much work per guess per operator.
- TOTP (RFC 6238, pyotp) as second factor: a phished or reused password alone does not log in. A
  code is accepted once (its time step is remembered), so a code seen over a shoulder is spent.
- LOCKOUT_FAILURES failures in a row lock the operator for LOCKOUT_S seconds: online guessing gets
  a handful of tries per cool-down. While locked nothing is checked (no timing oracle either).
The file holds the TOTP seeds, so it is mode 0600 like every secret file (node/secret_files.py).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import pyotp

from ledger.authz import ROLES
from node.secret_files import check_private, write_private

OPERATORS_FILE = "operators.json"
PBKDF2_ITERATIONS = 600_000
LOCKOUT_FAILURES = 5
LOCKOUT_S = 15 * 60
PASSWORD_MIN = 12
PASSWORD_MAX = 1024  # bounded: PBKDF2 hashes the whole password first
NAME = re.compile(r"^[a-z][a-z0-9._-]{1,63}$")
FILE_BYTES_MAX = 4 * 1024 * 1024


class OperatorError(ValueError):
    """A request about operators that cannot be done; the message says which rule."""


class LoginRefused(Exception):
    """A login that did not succeed. `reason` is for the audit log; the client sees less."""

    def __init__(self, reason: str, retry_after_s: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Operator:
    name: str
    role: str
    salt: str  # hex
    password_hash: str  # hex PBKDF2-HMAC-SHA256
    iterations: int
    totp_secret: str  # base32
    created: int
    failures: int = 0
    locked_until: float = 0.0
    last_totp_step: int = -1
    sessions_valid_after: float = 0.0  # sessions issued earlier are revoked ("operator revoke --all")

    def public(self) -> dict:
        locked = self.locked_until > time.time()
        return {"name": self.name, "role": self.role, "created": self.created, "failures": self.failures,
                "locked": locked}  # fmt: skip


def hash_password(password: str, salt: bytes, iterations: int = PBKDF2_ITERATIONS) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)


def _check_password(password: str) -> None:
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise OperatorError(f"a password has {PASSWORD_MIN}..{PASSWORD_MAX} characters, not {len(password)}")


class OperatorStore:
    """HOME/operators.json, read fresh for every operation so the CLI and the node see one truth."""

    def __init__(self, home: Path) -> None:
        self.path = Path(home) / OPERATORS_FILE

    def load(self) -> dict[str, Operator]:
        if not self.path.exists():
            return {}
        check_private(self.path)
        if self.path.stat().st_size > FILE_BYTES_MAX:
            raise OperatorError(f"{self.path} is larger than {FILE_BYTES_MAX} bytes")
        data = json.loads(self.path.read_text())
        return {name: Operator(**fields) for name, fields in data.get("operators", {}).items()}

    def save(self, operators: dict[str, Operator]) -> None:
        data = {"operators": {name: asdict(op) for name, op in sorted(operators.items())}}
        write_private(self.path, (json.dumps(data, indent=2) + "\n").encode())

    def add(self, name: str, role: str, password: str) -> Operator:
        """A new operator; returns it with its fresh TOTP secret (shown once to enrol an app)."""
        if not NAME.fullmatch(name):
            raise OperatorError(f"operator name {name!r}: lower-case letters, digits, . _ -; 2..64 characters")
        if role not in ROLES:
            raise OperatorError(f"role {role!r} is not one of {', '.join(ROLES)}")
        _check_password(password)
        operators = self.load()
        if name in operators:
            raise OperatorError(f"operator {name!r} exists; remove it first")
        salt = os.urandom(16)
        operator = Operator(
            name=name, role=role, salt=salt.hex(), password_hash=hash_password(password, salt).hex(),
            iterations=PBKDF2_ITERATIONS, totp_secret=pyotp.random_base32(), created=int(time.time()),
        )  # fmt: skip
        operators[name] = operator
        self.save(operators)
        return operator

    def remove(self, name: str) -> None:
        operators = self.load()
        if operators.pop(name, None) is None:
            raise OperatorError(f"no operator {name!r}")
        self.save(operators)

    def update(self, name: str, **changes: object) -> Operator:
        operators = self.load()
        if name not in operators:
            raise OperatorError(f"no operator {name!r}")
        operators[name] = replace(operators[name], **changes)  # type: ignore[arg-type]
        self.save(operators)
        return operators[name]

    def unlock(self, name: str) -> Operator:
        return self.update(name, failures=0, locked_until=0.0)

    def revoke_sessions(self, name: str) -> Operator:
        return self.update(name, sessions_valid_after=time.time())

    def check_login(self, name: str, password: str, code: str, now: float | None = None) -> Operator:
        """The operator if password and TOTP code are right; LoginRefused otherwise (and counted)."""
        now = time.time() if now is None else now
        operators = self.load()
        operator = operators.get(name)
        if operator is None:
            hash_password(password[:PASSWORD_MAX], b"\0" * 16)  # same cost as a real check: no name oracle
            raise LoginRefused("unknown operator")
        if operator.locked_until > now:
            raise LoginRefused("locked", retry_after_s=int(operator.locked_until - now) + 1)
        password_ok = len(password) <= PASSWORD_MAX and hmac.compare_digest(
            hash_password(password, bytes.fromhex(operator.salt), operator.iterations).hex(), operator.password_hash
        )
        step = _matching_step(operator.totp_secret, code, now)
        code_ok = step is not None
        replayed = step is not None and step <= operator.last_totp_step
        if password_ok and code_ok and not replayed:
            operators[name] = replace(operator, failures=0, locked_until=0.0, last_totp_step=step)
            self.save(operators)
            return operators[name]
        failures = operator.failures + 1
        locked_until = now + LOCKOUT_S if failures >= LOCKOUT_FAILURES else 0.0
        operators[name] = replace(operator, failures=0 if locked_until else failures, locked_until=locked_until)
        self.save(operators)
        reason = "wrong password" if not password_ok else ("TOTP code already used" if replayed else "wrong TOTP code")
        if locked_until:
            raise LoginRefused(f"{reason}; locked for {LOCKOUT_S} s after {failures} failures", LOCKOUT_S)
        raise LoginRefused(reason)


def _matching_step(secret: str, code: str, now: float) -> int | None:
    """The time step whose code `code` is (this one or a neighbour: clocks drift), or None."""
    if not isinstance(code, str) or not code.isdigit() or len(code) > 10:
        return None
    totp = pyotp.TOTP(secret)
    current = int(now) // totp.interval
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.at(step * totp.interval), code):
            return step
    return None


def provisioning_uri(operator: Operator, issuer: str = "QENEX node") -> str:
    """otpauth:// URI for an authenticator app (show as text or QR code)."""
    return pyotp.TOTP(operator.totp_secret).provisioning_uri(name=operator.name, issuer_name=issuer)
