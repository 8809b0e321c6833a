from __future__ import annotations

import copy
import os

import pytest

from genesis.builder import build_dev_genesis
from genesis.schema import GenesisError, parse_genesis


@pytest.fixture(scope="module")
def dev_genesis():
    data, _listing = build_dev_genesis(os.urandom(32), accounts=2)
    return data


def broken(data: dict, change) -> str:
    copy_ = copy.deepcopy(data)
    change(copy_)
    with pytest.raises(GenesisError) as caught:
        parse_genesis(copy_)
    return str(caught.value)


def test_dev_genesis_is_balanced_against_issuance(dev_genesis):
    genesis = parse_genesis(dev_genesis)
    transfers = genesis.opening_transfers()
    assert {t.debit_account_id for t in transfers} == {"ISSUANCE:EUR", "ISSUANCE:USD", "ISSUANCE:GBP"}
    assert sum(t.amount for t in transfers if t.currency == "EUR") == 2 * 100_000_000
    assert len({t.id for t in transfers}) == len(transfers)


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (lambda d: d.pop("chain_id"), "genesis.chain_id is missing"),
        (lambda d: d["accounts"][0].update(balance="12.50"), "genesis.accounts[0].balance"),
        (lambda d: d["accounts"][0].update(balance=1.5), "genesis.accounts[0].balance"),
        (lambda d: d["accounts"][0].update(id="DE00370400440000000001"), "not a valid IBAN"),
        (lambda d: d["accounts"][0].update(currency="CHF"), "CHF is not in genesis.currencies"),
        (lambda d: d["accounts"][0].update(flags=["no_overdraft"]), "unknown flag"),
        (lambda d: d["accounts"].append(dict(d["accounts"][0])), "listed twice"),
        (lambda d: d["validators"][0].update(address="0x" + "11" * 20), "does not match its public key"),
        (lambda d: d["roles"][0].update(role="king"), "genesis.roles[0]"),
        (lambda d: d["block"].update(interval_millis=5), "unknown fields"),
        (lambda d: d["currencies"].append({"code": "eur", "exponent": 2}), "genesis.currencies[3]"),
    ],
)
def test_errors_name_the_field(dev_genesis, change, needle):
    assert needle in broken(dev_genesis, change)
