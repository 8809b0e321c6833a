"""Ethereum transactions (legacy, EIP-2930, EIP-1559): decoding and admission rules.

Every refusal is an `EvmTxInvalid` whose `rule` is a stable code and whose message is the one
geth gives for the same rule, so wallets that match on geth's wording (MetaMask, ethers.js,
web3.py) react as they do against geth. Decoding is bounded like geth's pool (128 KiB).
Blob (EIP-4844) and set-code (EIP-7702) transactions are refused: a permissioned chain has no
blob market, and set-code delegations would let an account's code change without its key
signing a transaction here.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth.abc import SignedTransactionAPI
from eth.vm.forks.prague import PragueVM
from eth_utils import to_checksum_address

from ledger.tx import ACTION_TX_TYPE, LEDGER_TX_TYPE

MAX_TX_BYTES = 4 * 32 * 1024  # geth's txMaxSize
SUPPORTED_TYPES = (0, 1, 2)
QENEX_TX_TYPES = frozenset((LEDGER_TX_TYPE, ACTION_TX_TYPE))  # the node's own envelopes (ledger.tx)


class EvmTxInvalid(Exception):
    """A transaction that may not enter a block; `message` is geth's text for the rule."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


@dataclass(frozen=True, slots=True)
class EthTransaction:
    """A decoded, signature-checked Ethereum transaction with the fields the node reads.

    `transfers` is empty: ledger transfer ids (mempool idempotency) belong to type 0x51 only.
    """

    evm_tx: SignedTransactionAPI
    type_id: int
    chain_id: int
    nonce: int
    transfers: tuple = ()

    @property
    def gas(self) -> int:
        return self.evm_tx.gas


def is_ethereum_raw(raw: bytes) -> bool:
    """Ledger transactions (0x51) and chain actions (0x52) are the node's own envelopes; every
    other one is Ethereum's."""
    return bool(raw) and raw[0] not in QENEX_TX_TYPES


def decode_ethereum(raw: bytes, chain_id: int) -> tuple[EthTransaction, str]:
    """Decode, check size, type, signature and chain id; return the transaction and its sender."""
    if len(raw) > MAX_TX_BYTES:
        raise EvmTxInvalid("oversized", f"oversized data: transaction size {len(raw)}, limit {MAX_TX_BYTES}")
    if not raw:
        raise EvmTxInvalid("malformed", "typed transaction too short")
    type_id = raw[0] if raw[0] < 0x7F else 0
    if type_id not in SUPPORTED_TYPES:
        raise EvmTxInvalid("unsupported_type", "transaction type not supported")
    try:
        evm_tx = PragueVM.get_transaction_builder().decode(bytes(raw))
    except Exception as exc:  # rlp and py-evm raise several types for malformed bytes
        raise EvmTxInvalid("malformed", f"rlp: {exc}") from None
    try:
        evm_tx.check_signature_validity()
        sender = to_checksum_address(evm_tx.sender)
    except Exception:
        raise EvmTxInvalid("invalid_signature", "invalid sender") from None
    tx_chain_id = evm_tx.chain_id
    if tx_chain_id is None:
        raise EvmTxInvalid("unprotected", "only replay-protected (EIP-155) transactions allowed over RPC")
    if tx_chain_id != chain_id:
        raise EvmTxInvalid("wrong_chain_id", f"invalid chain id for signer: have {tx_chain_id} want {chain_id}")
    return EthTransaction(evm_tx, type_id, tx_chain_id, evm_tx.nonce), sender
