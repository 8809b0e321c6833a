"""The ledger bridge and the per-currency ERC-20 tokens, as precompiled contracts.

Each runs in Python inside py-evm's call (so it shares the call's gas, snapshot and revert):

ERC-20 at token_address(C): name, symbol, decimals (= C's exponent), totalSupply (issued),
balanceOf (the primary account's available balance), transfer, approve, transferFrom,
allowance, with Transfer/Approval events. Balances are ledger accounts; allowances are EVM
storage of the token address, so they follow the EVM's own journal.

Bridge at BRIDGE_ADDRESS: tokenOf(string) -> address, accountOf(address,string) -> string,
balanceOf(address,string) -> uint256, transfer(address,uint256,string) -> bool (from the caller).

Calls that would let a contract spend its caller's money are refused: DELEGATECALL/CALLCODE into
a token (the caller's context would become the token's `msg.sender`), writes under STATICCALL,
and native coin sent along. A ledger refusal (no account, funds, frozen) reverts with
Error(string) "ledger: <rule>: <message>".
"""

from __future__ import annotations

from collections.abc import Callable

from eth.abc import ComputationAPI
from eth.exceptions import Revert, WriteProtection
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak as eth_keccak

from contracts.bridge.addresses import BRIDGE_ADDRESS, currency_of, evm_account_id, token_address
from contracts.bridge.layers import LedgerLayers
from ledger.currency import AMOUNT_MAX
from ledger.errors import LedgerError

GAS_READ = 2_600
GAS_WRITE = 30_000
GAS_APPROVE = 22_100
TRANSFER_TOPIC = int.from_bytes(eth_keccak(text="Transfer(address,address,uint256)"), "big")
APPROVAL_TOPIC = int.from_bytes(eth_keccak(text="Approval(address,address,uint256)"), "big")
ERROR_SELECTOR = bytes.fromhex("08c379a0")


def selector(signature: str) -> bytes:
    return eth_keccak(text=signature)[:4]


def _revert(computation: ComputationAPI, reason: str) -> None:
    data = ERROR_SELECTOR + abi_encode(["string"], [reason])
    computation.output = data
    raise Revert(data)


def _args(computation: ComputationAPI, types: list[str]) -> tuple:
    try:
        return tuple(abi_decode(types, bytes(computation.msg.data[4:])))
    except Exception:
        _revert(computation, f"bad arguments: expected ({','.join(types)})")
        raise AssertionError("unreachable") from None


def _address(value: str) -> bytes:
    return bytes.fromhex(value[2:])


def _layers(computation: ComputationAPI) -> LedgerLayers:
    layers = getattr(computation.state, "ledger", None)
    if layers is None:
        _revert(computation, "the ledger bridge is not available in this context")
    return layers


def _guard(computation: ComputationAPI, writes: bool) -> None:
    msg = computation.msg
    if msg.storage_address != msg.code_address:
        _revert(computation, "the ledger tokens cannot be called by DELEGATECALL or CALLCODE")
    if msg.value:
        _revert(computation, "the ledger tokens do not take the native coin")
    if writes and msg.is_static:
        raise WriteProtection("a ledger transfer cannot happen in a STATICCALL")


def _move(computation: ComputationAPI, code: str, source: bytes, target: bytes, amount: int) -> None:
    if amount > AMOUNT_MAX:
        _revert(computation, f"amount exceeds the ledger maximum 2^128-1: {amount}")
    if amount == 0:
        return  # ERC-20 allows zero transfers; the ledger books none
    try:
        _layers(computation).transfer(source, target, amount, code)
    except LedgerError as error:
        _revert(computation, f"ledger: {error.rule}: {error.message}")


def _allowance_slot(owner: bytes, spender: bytes) -> int:
    return int.from_bytes(eth_keccak(owner.rjust(32, b"\0") + spender.rjust(32, b"\0")), "big")


def erc20(computation: ComputationAPI) -> ComputationAPI:
    """The ERC-20 token of the currency whose address this is."""
    msg = computation.msg
    token = bytes(msg.code_address)
    code = currency_of(token)
    assert code is not None, "registered only at token addresses"
    fn = bytes(msg.data[:4])
    handler = _ERC20.get(fn)
    if handler is None:
        _revert(computation, f"{code} token: unknown function selector 0x{fn.hex()}")
    writes = fn in _ERC20_WRITES
    _guard(computation, writes)
    computation.consume_gas(GAS_WRITE if writes else GAS_READ, reason=f"ledger token {code}")
    computation.output = handler(computation, token, code)
    return computation


def _name(c: ComputationAPI, token: bytes, code: str) -> bytes:
    return abi_encode(["string"], [f"QENEX {code}"])


def _symbol(c: ComputationAPI, token: bytes, code: str) -> bytes:
    return abi_encode(["string"], [code])


def _decimals(c: ComputationAPI, token: bytes, code: str) -> bytes:
    return abi_encode(["uint8"], [_layers(c).currencies[code].exponent])


def _total_supply(c: ComputationAPI, token: bytes, code: str) -> bytes:
    return abi_encode(["uint256"], [_layers(c).total_supply(code)])


def _balance_of(c: ComputationAPI, token: bytes, code: str) -> bytes:
    (owner,) = _args(c, ["address"])
    return abi_encode(["uint256"], [_layers(c).balance(_address(owner), code)])


def _allowance(c: ComputationAPI, token: bytes, code: str) -> bytes:
    owner, spender = _args(c, ["address", "address"])
    return abi_encode(["uint256"], [c.state.get_storage(token, _allowance_slot(_address(owner), _address(spender)))])


def _transfer(c: ComputationAPI, token: bytes, code: str) -> bytes:
    to, amount = _args(c, ["address", "uint256"])
    source = bytes(c.msg.sender)
    _move(c, code, source, _address(to), amount)
    c.add_log_entry(
        token, (TRANSFER_TOPIC, int.from_bytes(source, "big"), int(to, 16)), abi_encode(["uint256"], [amount])
    )
    return abi_encode(["bool"], [True])


def _approve(c: ComputationAPI, token: bytes, code: str) -> bytes:
    spender, amount = _args(c, ["address", "uint256"])
    owner = bytes(c.msg.sender)
    c.state.set_storage(token, _allowance_slot(owner, _address(spender)), amount)
    c.add_log_entry(
        token, (APPROVAL_TOPIC, int.from_bytes(owner, "big"), int(spender, 16)), abi_encode(["uint256"], [amount])
    )
    return abi_encode(["bool"], [True])


def _transfer_from(c: ComputationAPI, token: bytes, code: str) -> bytes:
    source_text, to, amount = _args(c, ["address", "address", "uint256"])
    source, spender = _address(source_text), bytes(c.msg.sender)
    if spender != source:
        slot = _allowance_slot(source, spender)
        allowed = c.state.get_storage(token, slot)
        if allowed < amount:
            _revert(c, f"{code} token: insufficient allowance: {allowed} < {amount}")
        if allowed != 2**256 - 1:
            c.state.set_storage(token, slot, allowed - amount)
    _move(c, code, source, _address(to), amount)
    c.add_log_entry(token, (TRANSFER_TOPIC, int(source_text, 16), int(to, 16)), abi_encode(["uint256"], [amount]))
    return abi_encode(["bool"], [True])


Handler = Callable[[ComputationAPI, bytes, str], bytes]
_ERC20: dict[bytes, Handler] = {
    selector("name()"): _name,
    selector("symbol()"): _symbol,
    selector("decimals()"): _decimals,
    selector("totalSupply()"): _total_supply,
    selector("balanceOf(address)"): _balance_of,
    selector("allowance(address,address)"): _allowance,
    selector("transfer(address,uint256)"): _transfer,
    selector("approve(address,uint256)"): _approve,
    selector("transferFrom(address,address,uint256)"): _transfer_from,
}
_ERC20_WRITES = {selector("transfer(address,uint256)"), selector("approve(address,uint256)"),
                 selector("transferFrom(address,address,uint256)")}  # fmt: skip


def bridge(computation: ComputationAPI) -> ComputationAPI:
    """tokenOf / accountOf / balanceOf / transfer by currency code, for contracts."""
    msg = computation.msg
    fn = bytes(msg.data[:4])
    layers = _layers(computation)
    if fn == selector("transfer(address,uint256,string)"):
        _guard(computation, writes=True)
        computation.consume_gas(GAS_WRITE, reason="ledger bridge transfer")
        to, amount, code = _args(computation, ["address", "uint256", "string"])
        if code not in layers.currencies:
            _revert(computation, f"currency {code!r} is not on this chain")
        source = bytes(msg.sender)
        _move(computation, code, source, _address(to), amount)
        computation.add_log_entry(
            token_address(code),
            (TRANSFER_TOPIC, int.from_bytes(source, "big"), int(to, 16)),
            abi_encode(["uint256"], [amount]),
        )
        computation.output = abi_encode(["bool"], [True])
        return computation
    _guard(computation, writes=False)
    computation.consume_gas(GAS_READ, reason="ledger bridge read")
    if fn == selector("tokenOf(string)"):
        (code,) = _args(computation, ["string"])
        known = code in layers.currencies
        computation.output = abi_encode(["address"], ["0x" + (token_address(code) if known else bytes(20)).hex()])
    elif fn == selector("accountOf(address,string)"):
        owner, code = _args(computation, ["address", "string"])
        account = layers.primary_account(_address(owner), code) if code in layers.currencies else None
        name = (
            account.id
            if account is not None
            else (evm_account_id(_address(owner), code) if code in layers.currencies else "")
        )
        computation.output = abi_encode(["string"], [name])
    elif fn == selector("balanceOf(address,string)"):
        owner, code = _args(computation, ["address", "string"])
        balance = layers.balance(_address(owner), code) if code in layers.currencies else 0
        computation.output = abi_encode(["uint256"], [balance])
    else:
        _revert(computation, f"ledger bridge: unknown function selector 0x{fn.hex()}")
    return computation


def precompiles_for(codes: list[str]) -> dict[bytes, Callable[[ComputationAPI], ComputationAPI]]:
    table: dict[bytes, Callable[[ComputationAPI], ComputationAPI]] = {BRIDGE_ADDRESS: bridge}
    table.update({token_address(code): erc20 for code in codes})
    return table
