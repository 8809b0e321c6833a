"""Operator logins: PBKDF2 hashes, TOTP, lockout with cool-down, sessions (expiry, revocation)."""

from __future__ import annotations

import hashlib
import json
import time

import pyotp
import pytest

from node.operators import (
    LOCKOUT_FAILURES,
    LOCKOUT_S,
    PBKDF2_ITERATIONS,
    LoginRefused,
    OperatorError,
    OperatorStore,
)
from node.sessions import SESSION_MAX_S, SessionError, Sessions

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("operators")
    OperatorStore(home).add("alice", "operator", PASSWORD)
    return home


def _code(home, name: str, at: float) -> str:
    return pyotp.TOTP(OperatorStore(home).load()[name].totp_secret).at(at)


def test_password_is_stored_as_pbkdf2_sha256_with_600k_iterations(home):
    operator = OperatorStore(home).load()["alice"]
    assert operator.iterations == PBKDF2_ITERATIONS >= 600_000
    expected = hashlib.pbkdf2_hmac("sha256", PASSWORD.encode(), bytes.fromhex(operator.salt), operator.iterations)
    assert operator.password_hash == expected.hex()
    assert PASSWORD not in (home / "operators.json").read_text()
    assert ((home / "operators.json").stat().st_mode & 0o777) == 0o600


def test_bad_operator_definitions_are_refused(tmp_path):
    store = OperatorStore(tmp_path)
    with pytest.raises(OperatorError, match="role"):
        store.add("bob", "superuser", PASSWORD)
    with pytest.raises(OperatorError, match="password"):
        store.add("bob", "operator", "short")
    with pytest.raises(OperatorError, match="name"):
        store.add("Bob Smith", "operator", PASSWORD)


def test_login_needs_password_and_totp_and_spends_the_code(home):
    store = OperatorStore(home)
    now = time.time() + 300  # a time step no other test used
    with pytest.raises(LoginRefused, match="wrong TOTP"):
        store.check_login("alice", PASSWORD, "000000" if _code(home, "alice", now) != "000000" else "111111", now)
    with pytest.raises(LoginRefused, match="wrong password"):
        store.check_login("alice", PASSWORD + "x", _code(home, "alice", now), now)
    assert store.check_login("alice", PASSWORD, _code(home, "alice", now), now).name == "alice"
    with pytest.raises(LoginRefused, match="already used"):
        store.check_login("alice", PASSWORD, _code(home, "alice", now), now)
    with pytest.raises(LoginRefused, match="unknown operator"):
        store.check_login("mallory", PASSWORD, "123456", now)


def test_lockout_after_repeated_failures_and_cool_down(tmp_path):
    store = OperatorStore(tmp_path)
    store.add("carol", "compliance", PASSWORD)
    now = time.time()
    for attempt in range(LOCKOUT_FAILURES):
        with pytest.raises(LoginRefused) as refused:
            store.check_login("carol", "wrong password!", "123456", now + attempt)
    assert refused.value.retry_after_s == LOCKOUT_S and "locked" in refused.value.reason
    right = pyotp.TOTP(store.load()["carol"].totp_secret)
    during = now + LOCKOUT_S / 2
    with pytest.raises(LoginRefused, match="locked") as locked:  # even the right password and code
        store.check_login("carol", PASSWORD, right.at(during), during)
    assert 0 < locked.value.retry_after_s <= LOCKOUT_S
    after = now + LOCKOUT_FAILURES + LOCKOUT_S + 1
    assert store.check_login("carol", PASSWORD, right.at(after), after).failures == 0


def test_sessions_expire_are_bounded_and_revocable(tmp_path):
    store = OperatorStore(tmp_path)
    operator = store.add("dave", "auditor", PASSWORD)
    sessions = Sessions(tmp_path)
    with pytest.raises(SessionError, match="lasts"):
        sessions.issue(operator, SESSION_MAX_S + 1)
    token = sessions.issue(operator, 600)
    session = sessions.verify(token)
    assert (session.operator, session.role) == ("dave", "auditor")
    with pytest.raises(SessionError, match="expired"):
        sessions.verify(token, now=time.time() + 601)
    sessions.revoke(session)
    with pytest.raises(SessionError, match="logged out"):
        sessions.verify(token)
    second = sessions.issue(operator, 600, now=time.time() - 5)
    store.revoke_sessions("dave")
    with pytest.raises(SessionError, match="all sessions"):
        sessions.verify(second)
    third = sessions.issue(operator, 600, now=time.time() + 2)
    store.remove("dave")
    with pytest.raises(SessionError, match="no longer exists"):
        sessions.verify(third, now=time.time() + 3)
    assert json.loads((tmp_path / "revoked-sessions.json").read_text())  # revocations persist across restarts
