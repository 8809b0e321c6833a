"""contracts.evm: Ethereum transactions in py-evm over LevelDB, block by block, all or nothing."""

from __future__ import annotations

import plyvel
import pytest
from eth_account import Account

from contracts.evm.db import LevelDBView
from contracts.evm.executor import EvmBlock, EvmParams, execution_context
from contracts.evm.genesis import genesis_state_root, parse_evm_genesis
from contracts.evm.transaction import EvmTxInvalid, decode_ethereum

CHAIN_ID = 1337
ALICE = Account.from_key(b"\x01" * 32)
BOB = Account.create()
# runtime: MSTORE "nope" right-aligned in word 0, REVERT with its 4 bytes
REVERTER_RUNTIME = bytes.fromhex("636e6f70656000526004601cfd")
# runtime: LOG1 of topic 0xaa.. with no data, then STOP
LOGGER_RUNTIME = bytes.fromhex("7f" + "aa" * 32 + "60006000" + "a1" + "00")


def init_code(runtime: bytes) -> bytes:
    """CODECOPY the runtime that follows this 12-byte prefix and RETURN it."""
    n = len(runtime)
    return bytes([0x60, n, 0x60, 12, 0x60, 0, 0x39, 0x60, n, 0x60, 0, 0xF3]) + runtime


@pytest.fixture
def db(tmp_path):
    database = plyvel.DB(str(tmp_path / "db"), create_if_missing=True)
    yield database
    database.close()


def params(base_fee: int = 0, min_tip: int = 0, gas_limit: int = 30_000_000) -> EvmParams:
    return EvmParams(CHAIN_ID, gas_limit, base_fee, min_tip, bytes.fromhex("fe" * 20))


def genesis_root(db: plyvel.DB, p: EvmParams, wei: int = 10**21) -> bytes:
    evm = parse_evm_genesis({"alloc": {ALICE.address: {"balance": str(wei)}}})
    view = LevelDBView(db)
    root = genesis_state_root(view, evm, execution_context(p, 0, 0, ()))
    with db.write_batch() as batch:
        view.stage(batch)
    return root


def apply(block: EvmBlock, signed: tuple):
    """Run a transaction without a ledger (no bridge); the EVM result."""
    result, postings = block.apply(*signed)
    assert postings == []
    return result


def sign(tx: dict, account=ALICE):
    base = {"chainId": CHAIN_ID, "gas": 21_000, "maxFeePerGas": 0, "maxPriorityFeePerGas": 0}
    raw = account.sign_transaction(base | tx).raw_transaction
    return decode_ethereum(bytes(raw), CHAIN_ID)


def test_value_transfer_commits_into_the_write_batch_and_reads_back_by_root(db):
    p = params()
    root = genesis_root(db, p)
    block = EvmBlock(db, p, root, 1, 10)
    tx, sender = sign({"to": BOB.address, "value": 5, "nonce": 0})
    result, _ = block.apply(tx, sender)
    assert (result.gas_used, result.cumulative_gas_used, result.error) == (21_000, 21_000, "")
    assert block.gas_used == 21_000
    assert db.get(b"E" + block.root()) is None  # nothing reaches LevelDB before the block commits
    with db.write_batch() as batch:
        new_root = block.commit(batch)
    later = EvmBlock(db, p, new_root, 2, 11)
    assert later.state.get_balance(bytes.fromhex(BOB.address[2:])) == 5
    assert later.state.get_nonce(bytes.fromhex(ALICE.address[2:])) == 1
    # the parent's state stays readable by its root
    assert EvmBlock(db, p, root, 1, 10).state.get_balance(bytes.fromhex(BOB.address[2:])) == 0


def test_a_block_that_is_not_committed_leaves_leveldb_untouched(db):
    p = params()
    root = genesis_root(db, p)
    before = list(db.iterator())
    block = EvmBlock(db, p, root, 1, 10)
    apply(block, sign({"to": None, "data": init_code(LOGGER_RUNTIME), "gas": 100_000, "nonce": 0}))
    assert list(db.iterator()) == before


def test_revert_is_included_with_status_data_and_gas_paid(db):
    p = params(base_fee=1)
    root = genesis_root(db, p)
    block = EvmBlock(db, p, root, 1, 10)
    deploy = apply(
        block, sign({"to": None, "data": init_code(REVERTER_RUNTIME), "gas": 100_000, "nonce": 0, "maxFeePerGas": 1})
    )
    assert deploy.error == "" and len(deploy.contract_address) == 20
    alice = bytes.fromhex(ALICE.address[2:])
    balance = block.state.get_balance(alice)
    call = apply(block, sign({"to": deploy.contract_address, "gas": 50_000, "nonce": 1, "maxFeePerGas": 1}))
    assert call.error == "execution reverted"
    assert call.output == b"nope"
    assert call.logs == ()
    assert block.state.get_balance(alice) == balance - call.gas_used  # gas paid at base fee 1
    assert call.cumulative_gas_used == deploy.gas_used + call.gas_used


def test_logs_and_bloom(db):
    p = params()
    block = EvmBlock(db, p, genesis_root(db, p), 1, 10)
    deploy = apply(block, sign({"to": None, "data": init_code(LOGGER_RUNTIME), "gas": 100_000, "nonce": 0}))
    result = apply(block, sign({"to": deploy.contract_address, "gas": 50_000, "nonce": 1}))
    assert [(log.address, log.topics) for log in result.logs] == [(deploy.contract_address, (b"\xaa" * 32,))]
    assert block.bloom == result.bloom != 0


@pytest.mark.parametrize(
    ("tx", "p", "rule", "message"),
    [
        ({"value": 10**22}, params(), "insufficient_funds", "insufficient funds for gas * price + value: address"),
        ({"maxFeePerGas": 6}, params(base_fee=7), "fee_too_low", "max fee per gas less than block base fee"),
        (
            {"maxFeePerGas": 9, "maxPriorityFeePerGas": 1},
            params(base_fee=7, min_tip=2),
            "underpriced",
            "transaction underpriced: gas tip cap 1, minimum needed 2",
        ),
        ({"gas": 20_000}, params(), "intrinsic_gas", "intrinsic gas too low: gas 20000, minimum needed 21000"),
        ({"gas": 40_000}, params(gas_limit=30_000), "gas_limit", "exceeds block gas limit"),
    ],
)
def test_refusals_name_the_rule_in_geths_words_and_change_nothing(db, tx, p, rule, message):
    root = genesis_root(db, p)
    block = EvmBlock(db, p, root, 1, 10)
    with pytest.raises(EvmTxInvalid) as refused:
        apply(block, sign({"to": BOB.address, "nonce": 0} | tx))
    assert refused.value.rule == rule
    assert refused.value.message.startswith(message)
    assert block.root() == root
    assert block.gas_used == 0


def test_block_gas_limit_counts_the_transactions_before(db):
    p = params(gas_limit=50_000)
    block = EvmBlock(db, p, genesis_root(db, p), 1, 10)
    apply(block, sign({"to": BOB.address, "nonce": 0}))
    apply(block, sign({"to": BOB.address, "nonce": 1}))
    with pytest.raises(EvmTxInvalid) as refused:
        apply(block, sign({"to": BOB.address, "nonce": 2}))
    assert refused.value.rule == "block_gas_full"


def test_genesis_marks_the_bridge_and_token_addresses_as_contracts(db):
    from contracts.bridge.addresses import BRIDGE_ADDRESS, token_address

    view = LevelDBView(db)
    root = genesis_state_root(view, parse_evm_genesis(None), execution_context(params(), 0, 0, ()), ("EUR",))
    with db.write_batch() as batch:
        view.stage(batch)
    state = EvmBlock(db, params(), root, 1, 1).state
    assert state.get_code(BRIDGE_ADDRESS) == state.get_code(token_address("EUR")) == b"\xfe"
    assert state.get_code(token_address("USD")) == b""


def test_a_fault_inside_execution_is_undone_and_refused(db, monkeypatch):
    p = params()
    root = genesis_root(db, p)
    block = EvmBlock(db, p, root, 1, 10)
    deploy = apply(block, sign({"to": None, "data": init_code(LOGGER_RUNTIME), "gas": 100_000, "nonce": 0}))
    before = block.root()

    def broken(self, transaction):
        self.set_balance(bytes.fromhex(BOB.address[2:]), 10**18)  # a change, then a fault
        raise RuntimeError("boom")

    monkeypatch.setattr(type(block.state), "apply_transaction", broken)
    with pytest.raises(EvmTxInvalid) as refused:
        block.apply(*sign({"to": deploy.contract_address, "gas": 50_000, "nonce": 1}))
    assert refused.value.rule == "execution_error"
    assert block.root() == before
