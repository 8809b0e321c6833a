"""Weighted round-robin proposer selection (consensus/proposer.py, CometBFT's priority algorithm)."""

from __future__ import annotations

from collections import Counter

import pytest

from consensus.commit import ValidatorPower, ValidatorSet
from consensus.proposer import proposer, proposer_at

A, B, C, D = (f"0x{c * 40}" for c in "abcd")


def vset(**powers: int) -> ValidatorSet:
    names = {"a": A, "b": B, "c": C, "d": D}
    return ValidatorSet(ValidatorPower(names[k], p) for k, p in powers.items())


def test_equal_power_is_plain_round_robin():
    validators = vset(a=1, b=1, c=1, d=1)
    sequence = [proposer_at(validators, k) for k in range(12)]
    assert sequence[:4] == [A, B, C, D]  # ties go to the lowest address
    assert sequence[4:8] == sequence[:4] == sequence[8:]


def test_hand_computed_weighted_sequence():
    # A=1, B=3, total 4: priorities (A, B) after each step: (1,-1) B; (-2,2) A on a tie; (-1,1) B; (0,0) B
    assert [proposer_at(vset(a=1, b=3), k) for k in range(8)] == [B, A, B, B] * 2


def test_frequency_is_proportional_to_power():
    validators = vset(a=1, b=2, c=3, d=4)
    counts = Counter(proposer_at(validators, k) for k in range(1000))
    assert counts == {A: 100, B: 200, C: 300, D: 400}


def test_height_and_round_advance_the_schedule_by_one_each():
    validators = vset(a=5, b=1, c=2)
    for height in range(1, 5):
        for round_ in range(4):
            assert proposer(validators, height, round_) == proposer_at(validators, height - 1 + round_)


def test_deterministic_and_independent_of_listing_order():
    one = ValidatorSet([ValidatorPower(A, 7), ValidatorPower(B, 2), ValidatorPower(C, 1)])
    two = ValidatorSet([ValidatorPower(C, 1), ValidatorPower(A, 7), ValidatorPower(B, 2)])
    assert [proposer_at(one, k) for k in range(50)] == [proposer_at(two, k) for k in range(50)]


def test_a_dominant_validator_does_not_starve_the_others():
    validators = vset(a=100, b=1)
    sequence = [proposer_at(validators, k) for k in range(202)]
    assert sequence.count(B) == 2


def test_no_proposer_before_height_one_or_negative_round():
    with pytest.raises(ValueError, match="no proposer"):
        proposer(vset(a=1), 0, 0)
    with pytest.raises(ValueError, match="no proposer"):
        proposer(vset(a=1), 1, -1)
