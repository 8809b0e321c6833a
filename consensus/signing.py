"""secp256k1 signing and checking of consensus messages, as the pure functions Config expects.

Signatures are recoverable (65 bytes, low-s, deterministic RFC 6979 via coincurve), exactly as
consensus.commit and ledger.tx use them, so one validator key signs votes, proposals and commit
certificates. Recovery is memoised by (digest, signature): a message gossiped to many peers, or
re-sent, is checked once per process. The result depends only on the arguments, so the cache
cannot change an answer.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import coincurve

from consensus.types import Proposal, Vote, VoteKind
from ledger.tx import InvalidSignatureError, recover_sender


def make_signer(private_key: bytes) -> Callable[[bytes], bytes]:
    key = coincurve.PrivateKey(private_key)

    def sign(digest: bytes) -> bytes:
        return key.sign_recoverable(digest, hasher=None)

    return sign


@lru_cache(maxsize=1 << 16)
def recover(digest: bytes, signature: bytes) -> str | None:
    """The lower-case address that signed `digest`, or None if the signature recovers nothing."""
    if len(signature) != 65:
        return None
    try:
        signer = recover_sender(
            digest, signature[64], int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:64], "big")
        )
    except InvalidSignatureError:
        return None
    return signer.lower()


def verify_vote(vote: Vote) -> bool:
    """The vote signature, and for a non-nil precommit the commit signature, both by vote.validator."""
    validator = vote.validator.lower()
    if recover(vote.signing_digest(), vote.signature) != validator:
        return False
    if vote.kind == VoteKind.PRECOMMIT and vote.block_id is not None:
        return recover(vote.block_id, vote.commit_signature) == validator
    return True


def verify_proposal(proposal: Proposal) -> bool:
    return recover(proposal.signing_digest(), proposal.signature) == proposal.proposer.lower()
