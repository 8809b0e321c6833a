"""Where ledger money lives in the EVM's address space (docs/evm.md, "Ledger bridge").

    bridge                 0x5100000000000000000000000000000000000000
    ERC-20 of currency C   0x51000000000000000000000000000000 || ASCII(C)   e.g. EUR: ...00455552

An address A holds currency C in its *primary account*: the lowest-id active account of
currency C whose owner is A; if A owns none (a contract, a fresh key), the account
`EVM:C:<A in upper-case hex>` is opened for it on the first credit (no overdraft).
"""

from __future__ import annotations

from eth_utils import to_checksum_address

from ledger.account import Account, AccountFlags

BRIDGE_ADDRESS = bytes.fromhex("51" + "00" * 19)
TOKEN_PREFIX = bytes.fromhex("51" + "00" * 16)
EVM_ACCOUNT_PREFIX = "EVM"
PLACEHOLDER_CODE = b"\xfe"  # so extcodesize > 0 and EIP-161 never deletes the tokens' storage


def token_address(code: str) -> bytes:
    raw = code.encode("ascii")
    assert len(raw) == 3 and code.isupper(), f"currency codes are three capital letters, not {code!r}"
    return TOKEN_PREFIX + raw


def currency_of(address: bytes) -> str | None:
    if len(address) != 20 or address[:17] != TOKEN_PREFIX:
        return None
    text = address[17:].decode("ascii", errors="replace")
    return text if text.isalpha() and text.isupper() else None


def evm_account_id(address: bytes, code: str) -> str:
    return f"{EVM_ACCOUNT_PREFIX}:{code}:{address.hex().upper()}"


def opened_account(address: bytes, code: str) -> Account:
    """The account the bridge opens for an address that owns none of `code` (no overdraft)."""
    return Account(
        id=evm_account_id(address, code),
        currency=code,
        owner=to_checksum_address(address),
        flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
    )


def reopen(account_id: str) -> Account | None:
    """For a journal replay: the account the bridge opened under `account_id`, or None if the
    id is not one the bridge makes."""
    parts = account_id.split(":")
    if len(parts) != 3 or parts[0] != EVM_ACCOUNT_PREFIX or len(parts[2]) != 40:
        return None
    try:
        return opened_account(bytes.fromhex(parts[2]), parts[1])
    except ValueError:
        return None
