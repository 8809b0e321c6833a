"""GDPR erasure of a payment's personal data as a chain action (type 0x52, kind 12).

Why on chain: the sealed envelope sits on every node of the consortium, and an erasure must reach
all of them, including one that is down today and syncs next week. A chain action is applied by
every node in the same block, checked against the one permission table (`personal_data.erase`:
a compliance officer, or the bank operator, whose namespace covers the debited account), and it
leaves a record every node reads before accepting an envelope again.

  payload  rlp([message hash (32 bytes), account id])
  record   pe: + message hash -> rlp([height])      (the hash and the height only: nothing personal)

When the block commits, each node crypto-shreds its copy (node/pii/service.py): the wrapped keys
and the ciphertexts are overwritten, so the data key is gone everywhere. The chain never held the
data, so its roots and `qenex ledger verify` are untouched by the shredding itself.
"""

from __future__ import annotations

from ledger import rlp_encode
from ledger.codec import bytes_to_int, int_to_bytes
from ledger.permissions import Unauthorized, authorize, current_grants
from ledger.rlp_decode import decode
from ledger.state import LedgerReader
from ledger.tx import Action
from node.governance import PERSONAL_DATA_ERASE, ActionContext, ActionRejected, members_at
from node.governance import _fields as action_fields  # one bounded decoder for every action payload

assert PERSONAL_DATA_ERASE == 12  # kinds 1-3 node/governance.py, 4-9 node/admin.py, 10-11 node/screening/actions.py
ERASED_PREFIX = b"pe:"
ACCOUNT_BYTES_MAX = 64


def erase_action(message_hash: bytes, account_id: str) -> Action:
    assert len(message_hash) == 32
    return Action(PERSONAL_DATA_ERASE, rlp_encode.encode([message_hash, account_id.encode()]))


def erasure_of(action: Action) -> tuple[bytes, str]:
    """(message hash, account id) of a well-formed erasure action; ActionRejected otherwise."""
    message_hash, account = action_fields(action.payload, 2, "personal_data.erase")
    if len(message_hash) != 32 or not 0 < len(account) <= ACCOUNT_BYTES_MAX:
        wanted = f"[32-byte message hash, account id of 1..{ACCOUNT_BYTES_MAX} bytes]"
        raise ActionRejected("malformed_action", f"personal_data.erase carries {wanted}")
    return message_hash, account.decode("ascii", errors="replace")


def apply_erasure(action: Action, ctx: ActionContext) -> None:
    """Record the erasure of one payment's personal data, or raise ActionRejected naming the rule."""
    message_hash, account_id = erasure_of(action)
    if ctx.state.account(account_id) is None:
        raise ActionRejected("account_not_found", f"personal_data.erase: account {account_id} does not exist")
    validators = [m.address for m in members_at(ctx.state, ctx.genesis, ctx.number)]
    try:
        authorize("personal_data.erase", ctx.sender, current_grants(ctx.state, ctx.genesis.roles), validators,
                  account_id)  # fmt: skip
    except Unauthorized as exc:
        raise ActionRejected(exc.rule, exc.message) from None
    key = ERASED_PREFIX + message_hash
    if ctx.state.record(key) is not None:
        raise ActionRejected("already_erased", f"personal data of 0x{message_hash.hex()} is already erased")
    ctx.state.put_record(key, rlp_encode.encode([int_to_bytes(ctx.number)]))


def erased_at(state: LedgerReader, message_hash: bytes) -> int | None:
    """The height of the block that erased this payment's personal data, None if it was not erased."""
    data = state.record(ERASED_PREFIX + message_hash)
    if data is None:
        return None
    (height,) = decode(data, max_depth=1)
    return bytes_to_int(height)
