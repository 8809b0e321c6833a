"""Hostile bodies to POST /admin/login on a running node: always a clean 400/401/413 answer, never a
500, and the node keeps serving (issue 9 item 7: every network-facing parser is fuzzed)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=12,
)
login_like = st.fixed_dictionaries(
    {"operator": json_values, "password": json_values, "totp": json_values},
    optional={"lifetime_s": json_values},
)
bodies = (
    st.binary(max_size=5000)
    | json_values.map(lambda v: json.dumps(v).encode())
    | login_like.map(lambda v: json.dumps(v).encode())
)


def post(url: str, body: bytes) -> int:
    request = urllib.request.Request(url + "/admin/login", body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status
    except urllib.error.HTTPError as refused:
        return refused.code


@pytest.fixture(scope="module")
def node_url(tmp_path_factory):
    from support.nodes import make_home, start_node

    home, _ = make_home(tmp_path_factory.mktemp("login-fuzz"))
    node = start_node(home)
    yield node.url
    node.stop()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies)
@example(body=b"[" * 4000)  # nested past Python's recursion limit
@example(body=b"x" * 5000)  # over the login body limit
@example(body=b'{"operator": "nobody", "password": "p", "totp": "000000", "lifetime_s": 10}')
def test_login_answers_hostile_bodies_cleanly(node_url, body):
    assert post(node_url, body) in (400, 401, 413)
