"""Commit certificates: signatures over a block hash by validators holding > 2/3 of the power.

A block is final once such a certificate exists (Tendermint's +2/3 precommits). With one
validator the certificate is its own signature; the check is the same for any set, so a
block store never needs to know how many validators made it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ledger.tx import InvalidSignatureError, recover_sender

SIGNATURE_BYTES = 65


class InvalidCommitError(ValueError):
    """A commit certificate is malformed, signed by a non-validator, or lacks a quorum."""


@dataclass(frozen=True, slots=True)
class ValidatorPower:
    address: str
    power: int


class ValidatorSet:
    def __init__(self, validators: Iterable[ValidatorPower]) -> None:
        self.powers = {v.address.lower(): v.power for v in validators}
        if not self.powers or any(p <= 0 for p in self.powers.values()):
            raise ValueError("a validator set needs at least one validator, each with positive power")
        self.total_power = sum(self.powers.values())

    def has_quorum(self, signers: Iterable[str]) -> bool:
        """More than 2/3 of the total voting power (integer arithmetic, no rounding)."""
        return 3 * sum(self.powers.get(s.lower(), 0) for s in set(signers)) > 2 * self.total_power


def sign_commit(block_hash: bytes, private_key: bytes) -> bytes:
    import coincurve

    return coincurve.PrivateKey(private_key).sign_recoverable(block_hash, hasher=None)


def commit_signers(block_hash: bytes, signatures: Sequence[bytes], validators: ValidatorSet) -> list[str]:
    """Recover and check each signer; raise InvalidCommitError naming the bad signature."""
    signers = []
    for index, signature in enumerate(signatures):
        if len(signature) != SIGNATURE_BYTES:
            raise InvalidCommitError(f"commit[{index}]: a signature is {SIGNATURE_BYTES} bytes, not {len(signature)}")
        try:
            signer = recover_sender(
                block_hash,
                signature[64],
                int.from_bytes(signature[:32], "big"),
                int.from_bytes(signature[32:64], "big"),
            )
        except InvalidSignatureError as exc:
            raise InvalidCommitError(f"commit[{index}]: {exc}") from None
        if signer.lower() not in validators.powers:
            raise InvalidCommitError(f"commit[{index}]: {signer} is not a validator")
        if signer.lower() in (s.lower() for s in signers):
            raise InvalidCommitError(f"commit[{index}]: {signer} signed twice")
        signers.append(signer)
    return signers


def verify_commit(block_hash: bytes, signatures: Sequence[bytes], validators: ValidatorSet) -> None:
    signers = commit_signers(block_hash, signatures, validators)
    if not validators.has_quorum(signers):
        raise InvalidCommitError(
            f"commit: {len(signers)} signer(s) hold no more than 2/3 of the voting power {validators.total_power}"
        )
