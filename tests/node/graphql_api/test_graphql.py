"""/graphql on a real node: EIP-1767 queries, ledger types, bounds, and fuzzed bodies."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.nodes import signed_transfer, wait_receipt


def post(url: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(url + "/graphql", data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def query(url: str, text: str, variables: dict | None = None) -> tuple[int, dict]:
    return post(url, json.dumps({"query": text, "variables": variables}).encode())


@pytest.fixture
def chain_with_a_transfer(running_node):
    node, listing = running_node
    tx_hash = node.rpc.call("eth_sendRawTransaction", "0x" + signed_transfer(listing, 0, 1, 4_321, 0, 5).hex())
    receipt = wait_receipt(node.rpc, tx_hash)
    return node, listing, tx_hash, receipt


def test_blocks_and_transactions_in_eip_1767_shapes_with_ledger_postings(chain_with_a_transfer):
    node, listing, tx_hash, receipt = chain_with_a_transfer
    status, body = query(node.url, """
      query($n: Long!) { chainID
        block(number: $n) { number hash parent { number } miner { address } transactionCount commit
          transactions { hash nonce index status from { address } type
            transfers { amount amountFormatted currency debitAccountId creditAccountId }
            postings { kind amountFormatted currency } references { endToEndId } } } }
    """, {"n": int(receipt["blockNumber"], 16)})  # fmt: skip
    assert status == 200 and "errors" not in body, body
    block = body["data"]["block"]
    assert body["data"]["chainID"] == "0x539"
    assert block["hash"] == receipt["blockHash"] and block["parent"]["number"] == block["number"] - 1
    assert block["transactionCount"] == 1 and len(block["commit"]) == 1
    (tx,) = block["transactions"]
    assert tx["hash"] == tx_hash and tx["status"] == 1 and tx["index"] == 0 and tx["type"] == 0x51
    assert tx["from"]["address"].lower() == listing[0]["address"].lower()
    assert tx["transfers"][0]["amount"] == "4321" and tx["transfers"][0]["amountFormatted"] == "43.21"
    assert tx["postings"] == [{"kind": "posted", "amountFormatted": "43.21", "currency": "EUR"}]


def test_ledger_accounts_with_a_paged_journal_and_an_address_view(chain_with_a_transfer):
    node, listing, tx_hash, _ = chain_with_a_transfer
    credit = listing[1]["accounts"][0]["id"]
    status, body = query(node.url, """
      query($id: String!, $owner: Address!, $tx: Bytes32!) {
        ledgerAccount(id: $id) { id owner balance balanceFormatted status debitsMustNotExceedCredits
          journal(first: 1) { nextCursor entries { transactionHash posting { amount } } } }
        account(address: $owner) { transactionCount ledgerAccounts { id currency } }
        transaction(hash: $tx) { block { number } }
        pending { transactionCount } logs(filter: {fromBlock: 0}) { index } }
    """, {"id": credit.lower(), "owner": listing[1]["address"], "tx": tx_hash})  # fmt: skip
    assert status == 200 and "errors" not in body, body
    account = body["data"]["ledgerAccount"]
    assert account["id"] == credit and account["balanceFormatted"] == "1000043.21" and account["status"] == "active"
    assert account["journal"]["entries"] == [{"transactionHash": tx_hash, "posting": {"amount": "4321"}}]
    assert account["journal"]["nextCursor"] is not None  # the opening balance is on the next page
    assert body["data"]["account"]["transactionCount"] == 0 and len(body["data"]["account"]["ledgerAccounts"]) == 3
    assert body["data"]["logs"] == [] and body["data"]["pending"]["transactionCount"] == 0


def test_bad_queries_get_graphql_errors_naming_the_problem(running_node):
    node, _ = running_node
    status, body = query(node.url, "{ block { nope } }")
    assert status == 400 and "Cannot query field 'nope'" in body["errors"][0]["message"]
    status, body = query(node.url, "{ block(number: -1) { number } }")
    assert status == 400 and "Long must be in 0..2^63-1" in json.dumps(body["errors"])
    status, body = query(node.url, "{ blocks(from: 0, to: 500) { number } }")
    assert "at most 100 blocks" in body["errors"][0]["message"]
    deep = "{ block { " + "parent { " * 12 + "number" + " }" * 14
    assert query(node.url, deep) == (400, {"errors": [{"message": "query nests deeper than 10 fields"}]})
    status, body = query(node.url, "{ " + "chainID " * 3000 + "}")
    assert status == 400 and "more than 2000 tokens" in body["errors"][0]["message"]
    assert post(node.url, b"x" * 70_000)[0] == 413
    with urllib.request.urlopen(node.url + "/graphql?" + urllib.parse.urlencode({"query": "{ chainID }"})) as r:
        assert json.loads(r.read()) == {"data": {"chainID": "0x539"}}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.one_of(
        st.binary(max_size=300),
        st.text(alphabet='{}()[]:$!@#.,=" \n abcdefghijklmnopqrstuvwxyz0123456789_', max_size=300).map(
            lambda q: json.dumps({"query": q}).encode()
        ),
        st.sampled_from(
            [
                "block",
                "blocks(from: 0)",
                'transaction(hash: "0x")',
                'ledgerAccount(id: "")',
                'account(address: "0x1")',
                'block(hash: "0x00")',
            ]
        ).map(lambda f: json.dumps({"query": "{ " + f + " { __typename } }"}).encode()),
    )
)
def test_arbitrary_bodies_get_a_json_answer_never_a_server_error(running_node, body):
    node, _ = running_node
    status, payload = post(node.url, body)
    assert status in (200, 400, 413)
    assert "data" in payload or "errors" in payload
    assert "internal error" not in json.dumps(payload)
