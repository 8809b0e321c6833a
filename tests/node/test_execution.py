"""Block application on a real LevelDB chain, in-process: receipts, atomicity, expiry, roots."""

from __future__ import annotations

import pytest

from genesis.builder import GENESIS_FILE, init_dev_home
from genesis.schema import load_genesis
from ledger.fx import fx_legs
from ledger.transfer import Transfer, TransferFlags
from ledger.tx import LedgerTransaction, decode_transaction
from node.block import Block
from node.chain import Chain
from node.execution import InvalidBlockError, SignedTransaction
from node.service import read_validator_key


@pytest.fixture
def dev(tmp_path):
    home = tmp_path / "home"
    listing = init_dev_home(home, accounts=3)
    genesis = load_genesis(home / GENESIS_FILE)
    chain = Chain(home / "data", genesis)
    yield chain, listing, read_validator_key(home), genesis
    chain.close()


def signed(listing, signer: int, nonce: int, *transfers: Transfer, chain_id: int = 1337) -> SignedTransaction:
    key = bytes.fromhex(listing[signer]["private_key"][2:])
    raw = LedgerTransaction(chain_id, nonce, transfers).sign(key).encode()
    tx = decode_transaction(raw)
    return SignedTransaction(tx, raw, tx.hash, tx.sender())


def eur(listing, index: int) -> str:
    return listing[index]["accounts"][0]["id"]


def test_failed_transaction_books_nothing_but_consumes_its_nonce(dev):
    chain, listing, key, _ = dev
    good = Transfer(1, eur(listing, 0), eur(listing, 1), 100, "EUR")
    overdraw = Transfer(2, eur(listing, 0), eur(listing, 1), 100, "EUR")
    too_much = Transfer(3, eur(listing, 0), eur(listing, 2), 10**12, "EUR")
    before = chain.ledger.account(eur(listing, 1))
    block, receipts = chain.produce_block([signed(listing, 0, 0, good), signed(listing, 0, 1, overdraw, too_much)], key)
    assert [r.status for r in receipts] == [1, 0]
    assert receipts[1].error_rule == "exceeds_credits" and receipts[1].failed_transfer_index == 1
    assert chain.ledger.transfer(2) is None and chain.ledger.transfer(3) is None
    assert chain.ledger.account(eur(listing, 1)).credits_posted == before.credits_posted + 100
    assert chain.ledger.nonce(listing[0]["address"]) == 2
    assert block.header.state_root == chain.ledger.root


def test_invalid_block_leaves_store_untouched(dev):
    chain, listing, key, _ = dev
    root, height = chain.ledger.root, chain.height
    with pytest.raises(InvalidBlockError, match="nonce"):
        chain.produce_block([signed(listing, 0, 5, Transfer(1, eur(listing, 0), eur(listing, 1), 1, "EUR"))], key)
    with pytest.raises(InvalidBlockError, match="chain_id"):
        chain.produce_block(
            [signed(listing, 0, 0, Transfer(1, eur(listing, 0), eur(listing, 1), 1, "EUR"), chain_id=9)], key
        )
    assert chain.ledger.root == root and chain.height == height
    assert chain.ledger.transfer(1) is None


def test_pending_transfer_expires_at_the_first_block_past_its_timeout(dev):
    chain, listing, key, genesis = dev
    start = genesis.genesis_time + 10
    hold = Transfer(7, eur(listing, 0), eur(listing, 1), 500, "EUR", flags=TransferFlags.PENDING, timeout_seconds=30)
    chain.produce_block([signed(listing, 0, 0, hold)], key, timestamp=start)
    account = chain.ledger.account(eur(listing, 0))
    assert account.debits_pending == 500 and account.balance_available == 100_000_000 - 500
    chain.produce_block([], key, timestamp=start + 29)
    assert chain.ledger.transfer(7).status.name == "PENDING"
    post = Transfer(8, "", "", 0, "", flags=TransferFlags.POST_PENDING, pending_id=7)
    _, receipts = chain.produce_block([signed(listing, 0, 1, post)], key, timestamp=start + 30)
    assert receipts[0].status == 0 and receipts[0].error_rule == "pending_transfer_expired"
    assert chain.ledger.transfer(7).status.name == "EXPIRED"
    assert chain.ledger.account(eur(listing, 0)).debits_pending == 0
    assert chain.ledger.account(eur(listing, 1)).credits_pending == 0


def test_operator_role_debits_customer_accounts_and_converts_currency(dev):
    chain, listing, key, _genesis = dev
    usd = listing[1]["accounts"][1]["id"]
    first, second = fx_legs(
        (100, 101),
        (eur(listing, 1), "FX:DEVBANK:EUR"),
        ("FX:DEVBANK:USD", usd),
        10_000,
        ("EUR", "USD"),
        (2, 2),
        "1.0825",
    )
    assert second.amount == 10_825
    _, receipts = chain.produce_block([signed(listing, 0, 0, first, second)], key)  # key 0 is the operator
    assert receipts[0].status == 1, receipts[0]
    assert chain.ledger.account(usd).credits_posted == 100_000_000 + 10_825
    assert chain.ledger.account("FX:DEVBANK:USD").debits_posted == 10_825
    wrong = fx_legs(
        (102, 103),
        (eur(listing, 1), "FX:DEVBANK:EUR"),
        ("FX:DEVBANK:USD", usd),
        10_000,
        ("EUR", "USD"),
        (2, 2),
        "1.0825",
    )
    tampered = Transfer(103, "FX:DEVBANK:USD", usd, 10_900, "USD", fx_rate="1.0825")
    _, receipts = chain.produce_block([signed(listing, 0, 1, wrong[0], tampered)], key)
    assert receipts[0].status == 0 and receipts[0].error_rule == "fx_rate_mismatch"
    customer = Transfer(104, eur(listing, 0), eur(listing, 2), 1, "EUR")
    _, receipts = chain.produce_block([signed(listing, 1, 0, customer)], key)  # key 1 owns neither
    assert receipts[0].error_rule == "unauthorized_debit"


def test_same_transactions_give_the_same_roots_on_two_validators(tmp_path, dev):
    chain, listing, key, genesis = dev
    other = Chain(tmp_path / "other-data", genesis)
    try:
        assert other.ledger.root == chain.ledger.root
        txs = [
            signed(listing, i % 3, i // 3, Transfer(i + 1, eur(listing, i % 3), eur(listing, (i + 1) % 3), 7, "EUR"))
            for i in range(30)
        ]
        a, _ = chain.produce_block(txs, key, timestamp=genesis.genesis_time + 5)
        b, _ = other.produce_block(txs, key, timestamp=genesis.genesis_time + 5)
        assert a.header.state_root == b.header.state_root and a.hash == b.hash
        before = a.header.state_root
        c, _ = chain.produce_block(
            [signed(listing, 0, 10, Transfer(999, eur(listing, 0), eur(listing, 1), 1, "EUR"))], key
        )
        assert c.header.state_root != before
    finally:
        other.close()


def test_commit_must_be_signed_by_the_validator_set(dev):
    chain, listing, key, _ = dev
    block, _ = chain.produce_block([], key)
    chain.verify_commit(block)
    forged = Block(block.header, block.transactions, (bytes(65),))
    with pytest.raises(InvalidBlockError, match="commit"):
        chain.verify_commit(forged)
    stranger = bytes.fromhex(listing[0]["private_key"][2:])
    from consensus.commit import sign_commit

    with pytest.raises(InvalidBlockError, match="not a validator"):
        chain.verify_commit(Block(block.header, block.transactions, (sign_commit(block.hash, stranger),)))
    with pytest.raises(InvalidBlockError, match="2/3"):
        chain.verify_commit(Block(block.header, block.transactions, ()))


def test_reopening_with_another_genesis_is_refused(tmp_path, dev):
    chain, _listing, _key, _genesis = dev
    chain.close()
    other_home = tmp_path / "other"
    init_dev_home(other_home, accounts=1)
    with pytest.raises(InvalidBlockError, match="different genesis"):
        Chain(tmp_path / "home" / "data", load_genesis(other_home / GENESIS_FILE))
