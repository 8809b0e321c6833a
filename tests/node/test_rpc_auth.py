"""Credentials, method classes and the token bucket, through their public functions; the header
parser faces the network, so hypothesis throws arbitrary headers at it."""

from __future__ import annotations

import time

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.authz import ROLES
from node.rpc.auth import Authenticator, AuthError, ensure_jwt_secret, hash_api_key, make_jwt, save_api_keys
from node.rpc.policy import AUTHENTICATED, PUBLIC, RpcPolicy, method_class, roles_for
from node.rpc.ratelimit import RateLimiter, SharedRateLimiter, retry_after_header


@pytest.fixture(scope="module")
def auth(tmp_path_factory):
    home = tmp_path_factory.mktemp("auth")
    ensure_jwt_secret(home / "jwt.hex")
    save_api_keys(home / "keys.json", {hash_api_key("k-aud"): {"name": "aud", "role": "auditor",
                                                               "sha256": hash_api_key("k-aud")}})  # fmt: skip
    policy = RpcPolicy(jwt_secret_file=home / "jwt.hex", api_keys_file=home / "keys.json")
    return Authenticator(policy, home), bytes.fromhex((home / "jwt.hex").read_text().strip())


def test_method_classes_follow_the_name():
    for method in ("admin_nodeInfo", "debug_traceTransaction", "txpool_content", "qenex_cacheVerify", "admin_x"):
        assert method_class(method) == AUTHENTICATED
    for method in ("eth_blockNumber", "eth_sendRawTransaction", "qenex_getAccount", "net_version"):
        assert method_class(method) == PUBLIC
    assert all(role in ROLES for role in roles_for("debug_x") | roles_for("admin_x") | roles_for("txpool_x"))


def test_credentials(auth):
    authenticator, secret = auth
    now = time.time()
    assert authenticator.principal({}) is None
    node_tooling = authenticator.principal({"Authorization": f"Bearer {make_jwt(secret, now)}"}, now)
    assert node_tooling.roles == {"operator"}  # rpc.jwt_roles: the secret file makes its holder the operator only
    assert node_tooling.may(roles_for("admin_nodeInfo")) and not node_tooling.may(frozenset({"compliance"}))
    assert authenticator.principal({"X-API-Key": "k-aud"}).roles == {"auditor"}
    with pytest.raises(AuthError, match="iat"):
        authenticator.principal({"Authorization": f"Bearer {make_jwt(secret, now - 61)}"}, now)
    with pytest.raises(AuthError, match="iat"):
        authenticator.principal({"Authorization": f"Bearer {make_jwt(secret, now + 61)}"}, now)
    with pytest.raises(AuthError, match="HS256"):
        none_alg = jwt.encode({"iat": int(now)}, None, algorithm="none")
        authenticator.principal({"Authorization": f"Bearer {none_alg}"}, now)
    with pytest.raises(AuthError, match="Bearer"):
        authenticator.principal({"Authorization": f"Basic {make_jwt(secret, now)}"}, now)


def test_jwt_roles_are_configured_and_checked(tmp_path):
    from node.config import ConfigError, load_settings

    ensure_jwt_secret(tmp_path / "jwt.hex")
    (tmp_path / "node.toml").write_text('[rpc]\njwt_roles = "operator, auditor"\n')
    policy = load_settings(tmp_path, environ={}).node_config(tmp_path).rpc_policy
    assert policy.jwt_roles == ("operator", "auditor") and RpcPolicy.from_json(policy.to_json()) == policy
    token = make_jwt(bytes.fromhex((tmp_path / "jwt.hex").read_text().strip()))
    assert Authenticator(policy, tmp_path).principal({"Authorization": f"Bearer {token}"}).roles == {
        "operator",
        "auditor",
    }
    (tmp_path / "node.toml").write_text('[rpc]\njwt_roles = "operator,root"\n')
    with pytest.raises(ConfigError, match=r"jwt_roles.*each one of governor"):
        load_settings(tmp_path, environ={})


@settings(max_examples=300, deadline=None)
@given(
    name=st.sampled_from(["Authorization", "X-API-Key"]),
    value=st.one_of(
        st.text(max_size=300),
        st.builds(lambda t: "Bearer " + t, st.text(max_size=300)),
        st.builds(lambda a, b, c: f"Bearer {a}.{b}.{c}", *[st.text("ABCxyz019-_=", max_size=80)] * 3),
    ),
)
def test_any_header_is_a_principal_none_or_a_named_refusal(auth, name, value):
    authenticator, _ = auth
    try:
        principal = authenticator.principal({name: value})
    except AuthError as refusal:
        assert str(refusal)
    else:
        assert principal is None or principal.roles


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=5), min_size=1, max_size=60))
def test_token_bucket_never_allows_more_than_burst_plus_rate_times_time(gaps):
    limiter = RateLimiter(rate_per_s=2, burst=3)
    now, allowed = 100.0, 0
    for gap in gaps:
        now += gap
        wait = limiter.take("client", now)
        if wait == 0:
            allowed += 1
        else:
            assert 0 < wait <= 0.5 + 1e-9  # one token at 2/s
            assert int(retry_after_header(wait)) >= wait
    assert allowed <= 3 + 2 * (now - 100.0) + 1e-9


def test_clients_have_separate_buckets_and_the_table_is_bounded():
    limiter = RateLimiter(rate_per_s=1, burst=1, clients_max=2)
    assert limiter.take("a", 0) == 0 and limiter.take("a", 0) > 0
    assert limiter.take("b", 0) == 0
    limiter.take("c", 0)  # "a" is forgotten: the table holds two clients
    assert limiter.take("a", 0) == 0


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.floats(min_value=0, max_value=5)), min_size=1, max_size=60))
def test_shared_buckets_bound_a_client_across_processes(tmp_path_factory, steps):
    """Two handles on one table stand for the node and a worker: together they allow no more than
    one bucket would."""
    table = SharedRateLimiter.create(tmp_path_factory.mktemp("rate") / "table.bin", slots=64)
    node, worker = (SharedRateLimiter(table, rate_per_s=2, burst=3, slots=64) for _ in range(2))
    now, allowed = 100.0, 0
    for on_worker, gap in steps:
        now += gap
        wait = (worker if on_worker else node).take("client", now)
        allowed += wait == 0
        assert wait == 0 or 0 < wait <= 0.5 + 1e-9
    assert allowed <= 3 + 2 * (now - 100.0) + 1e-9
    node.close()
    worker.close()


def test_shared_table_is_bounded_and_needs_the_node_to_create_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="the node creates it"):
        SharedRateLimiter(tmp_path / "missing.bin", 1, 1)
    table = SharedRateLimiter.create(tmp_path / "table.bin", slots=8)
    assert table.stat().st_size == 8 * 32 and table.stat().st_mode & 0o777 == 0o600
    limiter = SharedRateLimiter(table, rate_per_s=1, burst=1, slots=8)
    assert limiter.take("a", 0) == 0 and limiter.take("a", 0) > 0
    for index in range(100):  # a spray of clients evicts the least recently seen, never grows the file
        limiter.take(f"spray-{index}", 1 + index)
    assert table.stat().st_size == 8 * 32
    assert limiter.take("a", 200) == 0  # "a" was evicted (or refilled): a full bucket again
    limiter.close()
