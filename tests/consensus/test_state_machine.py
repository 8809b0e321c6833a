"""Unit tests of consensus/state_machine.py, named after the paper's lines (arXiv 1807.04938, Alg. 1)
and after the CometBFT state tests whose intent they port (LockNoPOL, LockPOLRelock, ...).

Four validators of power 1 (quorum 3, f+1 = 2). At height 1 the proposers of rounds 0, 1, 2, 3 are
validators 2, 1, 0, 3; unless a test says otherwise we are validator 3, never the proposer of 0-2.
"""

from __future__ import annotations

import dataclasses

import pytest

from consensus import state_machine as sm
from consensus.commit import verify_commit
from consensus.simulator import block_id, signer
from consensus.types import (
    Broadcast,
    Commit,
    Evidence,
    Proposal,
    ProposalReceived,
    ScheduleTimeout,
    Step,
    TimeoutFired,
    TimeoutKind,
    VoteKind,
    VoteReceived,
)

V, W, BAD = b"block-v", b"block-w", b"invalid-block"
PV, PC = VoteKind.PREVOTE, VoteKind.PRECOMMIT
ME = 3


def locked_on(harness, block: bytes) -> sm.State:
    """Round 0: proposal `block`, we prevote it, two more prevotes: we lock and precommit it (line 36)."""
    state, _ = harness.start(ME)
    state, actions = harness.feed(
        state, harness.proposal(0, block), harness.prevote(0, 0, block), harness.prevote(1, 0, block)
    )
    assert harness.sent(actions, PC) == [block_id(block)]
    assert (state.locked_round, state.step) == (0, Step.PRECOMMIT)
    return state


def to_next_round(harness, state: sm.State) -> sm.State:
    """No precommit quorum for anything: two nil precommits, then the precommit timeout (lines 47, 65)."""
    r = state.round
    state, actions = harness.feed(state, harness.precommit(0, r, None), harness.precommit(1, r, None))
    assert ScheduleTimeout(TimeoutKind.PRECOMMIT, 1, r, 100 + 50 * r) in actions
    state, _ = harness.feed(state, TimeoutFired(TimeoutKind.PRECOMMIT, 1, r))
    assert (state.round, state.step) == (r + 1, Step.PROPOSE)
    return state


# --- StartRound, timeouts ----------------------------------------------------------------------


def test_start_round_non_proposer_schedules_propose_timeout(harness):  # lines 11-21
    state, actions = harness.start(ME)
    assert actions == [ScheduleTimeout(TimeoutKind.PROPOSE, 1, 0, 300)]
    assert (state.height, state.round, state.step) == (1, 0, Step.PROPOSE)


def test_start_round_proposer_proposes_and_prevotes_its_block(harness):  # lines 14-19, 22
    me = harness.proposer_index(1, 0)
    state, actions = harness.start(me)
    proposals = [a for a in actions if isinstance(a, Broadcast) and isinstance(a.message, Proposal)]
    assert len(proposals) == 1 and proposals[0].message.valid_round == -1
    assert harness.sent(actions, PV) == [proposals[0].message.block_id]
    assert state.step == Step.PREVOTE


def test_timeouts_grow_linearly_with_the_round():
    timeouts = sm.Timeouts(propose_ms=10, propose_delta_ms=3, prevote_ms=5, prevote_delta_ms=2)
    assert [timeouts.duration_ms(TimeoutKind.PROPOSE, r) for r in range(4)] == [10, 13, 16, 19]
    assert timeouts.duration_ms(TimeoutKind.PREVOTE, 7) == 19


def test_timeout_propose_prevotes_nil_and_stale_timeouts_do_nothing(harness):  # lines 57-60
    state, _ = harness.start(ME)
    same, actions = harness.feed(
        state, TimeoutFired(TimeoutKind.PROPOSE, 1, 5), TimeoutFired(TimeoutKind.PREVOTE, 1, 0)
    )
    assert actions == [] and same.step == Step.PROPOSE
    state, actions = harness.feed(state, TimeoutFired(TimeoutKind.PROPOSE, 1, 0))
    assert harness.sent(actions, PV) == [None] and state.step == Step.PREVOTE


def test_prevote_timeout_scheduled_once_then_precommits_nil(harness):  # lines 34-35, 61-64
    state, _ = harness.start(ME)
    state, _ = harness.feed(state, TimeoutFired(TimeoutKind.PROPOSE, 1, 0))
    state, actions = harness.feed(
        state, harness.prevote(0, 0, V), harness.prevote(1, 0, None), harness.prevote(2, 0, W)
    )
    assert [a for a in actions if isinstance(a, ScheduleTimeout)] == [ScheduleTimeout(TimeoutKind.PREVOTE, 1, 0, 100)]
    state, actions = harness.feed(state, TimeoutFired(TimeoutKind.PREVOTE, 1, 0))
    assert harness.sent(actions, PC) == [None] and state.step == Step.PRECOMMIT


def test_step_never_mutates_its_input(harness):
    state, _ = harness.start(ME)
    before = dataclasses.replace(state.copy())
    harness.feed(state, harness.proposal(0, V), harness.prevote(0, 0, V), harness.prevote(1, 0, V))
    assert state.votes == before.votes == {} and state.step == Step.PROPOSE and state.dropped == before.dropped


# --- locking: CometBFT's LockNoPOL, LockPOLRelock, LockPOLUnlock, LockPOLSafety1/2 -----------------------


def test_lock_no_pol_keeps_the_lock_and_prevotes_nil_for_another_value(harness):  # lines 22-27, 36-41
    state = to_next_round(harness, locked_on(harness, V))
    new_value, actions = harness.feed(state, harness.proposal(1, W))
    assert harness.sent(actions, PV) == [None]
    assert (new_value.locked_round, new_value.locked_value) == (0, V)
    _, actions = harness.feed(state, harness.proposal(1, V))
    assert harness.sent(actions, PV) == [block_id(V)]  # line 23: lockedValue = v


def test_lock_pol_relock_on_a_polka_in_a_later_round(harness):  # line 36 with step = prevote
    state = to_next_round(harness, locked_on(harness, V))
    state, actions = harness.feed(state, harness.proposal(1, W))
    assert harness.sent(actions, PV) == [None]
    state, actions = harness.feed(state, *(harness.prevote(i, 1, W) for i in range(3)))
    assert harness.sent(actions, PC) == [block_id(W)]
    assert (state.locked_value, state.locked_round, state.valid_value, state.valid_round) == (W, 1, W, 1)


def test_lock_pol_unlock_only_by_a_later_polka_never_by_a_nil_polka(harness):  # lines 28-33, 44-46
    state = to_next_round(harness, locked_on(harness, V))
    state, _ = harness.feed(state, TimeoutFired(TimeoutKind.PROPOSE, 1, 1))  # round 1's proposal never arrives
    state, actions = harness.feed(state, *(harness.prevote(i, 1, W) for i in range(3)))
    assert (state.locked_value, state.locked_round) == (V, 0)  # a polka without its proposal locks nothing
    state, _ = harness.feed(state, TimeoutFired(TimeoutKind.PREVOTE, 1, 1))
    state = to_next_round(harness, state)
    state, actions = harness.feed(state, harness.proposal(2, W, valid_round=1))
    assert harness.sent(actions, PV) == [block_id(W)]  # lockedRound 0 <= vr 1: the POL releases the lock

    nil_polka = to_next_round(harness, locked_on(harness, V))
    nil_polka, actions = harness.feed(
        nil_polka, harness.proposal(1, W), harness.prevote(0, 1, None), harness.prevote(1, 1, None)
    )
    assert harness.sent(actions, PC) == [None]  # line 44
    assert (nil_polka.locked_value, nil_polka.locked_round) == (V, 0)


def test_lock_pol_safety1_a_polka_older_than_the_lock_does_not_unlock(harness):  # line 29: lockedRound <= vr
    state, _ = harness.start(ME)
    state, _ = harness.feed(
        state, TimeoutFired(TimeoutKind.PROPOSE, 1, 0), *(harness.prevote(i, 0, W) for i in range(3))
    )
    state, _ = harness.feed(state, TimeoutFired(TimeoutKind.PREVOTE, 1, 0))
    state = to_next_round(harness, state)
    state, actions = harness.feed(state, harness.proposal(1, V), harness.prevote(0, 1, V), harness.prevote(2, 1, V))
    assert (state.locked_value, state.locked_round) == (V, 1)
    state = to_next_round(harness, state)
    state, actions = harness.feed(state, harness.proposal(2, W, valid_round=0))  # polka for W in round 0 exists
    assert harness.sent(actions, PV) == [None]  # lockedRound 1 > vr 0 and W != lockedValue


def test_lock_pol_safety2_late_prevotes_from_an_old_round_change_nothing(harness):
    state = to_next_round(harness, locked_on(harness, V))
    state, _ = harness.feed(state, harness.proposal(1, V), harness.prevote(0, 1, V), harness.prevote(2, 1, V))
    assert (state.locked_round, state.step) == (1, Step.PRECOMMIT)
    after, actions = harness.feed(state, harness.prevote(2, 0, W))  # round 0, long gone
    assert [a for a in actions if isinstance(a, Broadcast)] == []
    assert (after.locked_value, after.locked_round, after.round) == (V, 1, 1)


def test_line_28_compares_locked_round_less_or_equal_vr(harness):
    """Regression: `lockedRound < vr` would refuse here. Locked on V in round 0 while a polka for W in
    round 0 exists (possible only with equivocators, validators 0 and 1): vr = 0 = lockedRound."""
    state = locked_on(harness, V)
    state, actions = harness.feed(state, *(harness.prevote(i, 0, W) for i in range(3)))
    assert len([a for a in actions if isinstance(a, Evidence)]) == 2
    state, _ = harness.feed(state, harness.prevote(1, 2, None), harness.prevote(2, 2, None))  # line 55: round 2
    assert (state.round, state.locked_round) == (2, 0)
    state, actions = harness.feed(state, harness.proposal(2, W, valid_round=0))
    assert harness.sent(actions, PV) == [block_id(W)]


def test_line_28_needs_0_le_vr_lt_round_and_never_fires_with_line_22(harness):
    state, _ = harness.start(ME)
    state, _ = harness.feed(state, harness.prevote(0, 1, None), harness.prevote(1, 1, None))  # line 55: to round 1
    assert state.round == 1
    state, actions = harness.feed(state, harness.proposal(1, V, valid_round=0))
    assert harness.sent(actions, PV) == []  # line 22 must not fire for vr = 0; line 28 waits for the polka
    state, actions = harness.feed(state, *(harness.prevote(i, 0, V) for i in range(3)))
    assert harness.sent(actions, PV) == [block_id(V)] and state.step == Step.PREVOTE
    state, actions = harness.feed(state, harness.prevote(ME, 0, V), harness.proposal(1, V, valid_round=0))
    assert harness.sent(actions, PV) == []  # one prevote per round, whichever rule fired
    malformed, _ = harness.feed(harness.start(ME)[0], harness.proposal(0, V, valid_round=0))  # vr = round
    assert malformed.dropped == {"malformed": 1} and malformed.proposals == {}


# --- validValue: ProposeValidBlock, SetValidBlockOnDelayedPrevote/Proposal ------------------------------


def test_propose_valid_block_reproposes_with_its_valid_round(harness):  # lines 15-16, 19
    me = harness.proposer_index(1, 1)
    state, _ = harness.start(me)
    others = [i for i in range(4) if i != me][:2]
    state, _ = harness.feed(state, harness.proposal(0, V), *(harness.prevote(i, 0, V) for i in others))
    assert (state.valid_value, state.valid_round) == (V, 0)
    state, _ = harness.feed(state, *(harness.precommit(i, 0, None) for i in others))
    state, actions = harness.feed(state, TimeoutFired(TimeoutKind.PRECOMMIT, 1, 0))
    proposals = [a for a in actions if isinstance(a, Broadcast) and isinstance(a.message, Proposal)]
    assert [(p.message.block_id, p.message.valid_round, p.block) for p in proposals] == [(block_id(V), 0, V)]
    assert harness.sent(actions, PV) == [block_id(V)]  # its own proposal, through line 28


def test_set_valid_block_on_delayed_prevote(harness):  # line 36 with step = precommit: lines 42-43 only
    state, _ = harness.start(ME)
    state, _ = harness.feed(state, harness.proposal(0, V), harness.prevote(0, 0, None), harness.prevote(1, 0, V))
    state, actions = harness.feed(state, TimeoutFired(TimeoutKind.PREVOTE, 1, 0))
    assert harness.sent(actions, PC) == [None]
    state, actions = harness.feed(state, harness.prevote(2, 0, V))
    assert harness.sent(actions, PC) == []
    assert (state.valid_value, state.valid_round, state.locked_round) == (V, 0, -1)


def test_set_valid_block_on_delayed_proposal(harness):  # line 36 fires when the proposal comes last
    state, _ = harness.start(ME)
    state, _ = harness.feed(
        state, TimeoutFired(TimeoutKind.PROPOSE, 1, 0), *(harness.prevote(i, 0, V) for i in range(3))
    )
    assert state.valid_round == -1
    state, actions = harness.feed(state, harness.proposal(0, V))
    assert (state.valid_value, state.valid_round, state.locked_value) == (V, 0, V)
    assert harness.sent(actions, PC) == [block_id(V)]


# --- invalid proposals ---------------------------------------------------------------------------


def test_bad_proposal_nil_polka_does_not_stick_the_chain(harness):  # lines 22-26, 44-48, 65-67, 49-54
    state, _ = harness.start(ME)
    state, actions = harness.feed(
        state, harness.proposal(0, BAD), harness.prevote(0, 0, None), harness.prevote(1, 0, None)
    )
    assert harness.sent(actions, PV) == [None] and harness.sent(actions, PC) == [None]
    assert state.valid_value is None and state.locked_value is None
    state = to_next_round(harness, state)
    state, actions = harness.feed(state, harness.proposal(1, V), harness.prevote(0, 1, V), harness.prevote(2, 1, V))
    state, actions = harness.feed(state, harness.precommit(0, 1, V), harness.precommit(2, 1, V))
    commits = [a for a in actions if isinstance(a, Commit)]
    assert [(c.height, c.round, c.block) for c in commits] == [(1, 1, V)]


def test_a_polka_for_an_invalid_block_sets_no_valid_value(harness):  # line 36 requires valid(v)
    state, _ = harness.start(ME)
    state, actions = harness.feed(state, harness.proposal(0, BAD), *(harness.prevote(i, 0, BAD) for i in range(3)))
    assert harness.sent(actions, PC) == [] and (state.valid_round, state.locked_round) == (-1, -1)
    state, actions = harness.feed(state, *(harness.precommit(i, 0, BAD) for i in range(3)))
    assert [a for a in actions if isinstance(a, Commit)] == []  # line 50: never decide an invalid value


# --- deciding ---------------------------------------------------------------------------------


def test_commit_carries_a_certificate_verify_commit_accepts(harness):  # lines 49-54
    state = locked_on(harness, V)
    state, actions = harness.feed(state, harness.precommit(0, 0, V), harness.precommit(2, 0, V))
    (commit,) = [a for a in actions if isinstance(a, Commit)]
    assert (commit.height, commit.block, commit.block_id) == (1, V, block_id(V))
    assert {v.kind for v in commit.certificate} == {PC} and len(commit.certificate) == 3
    verify_commit(commit.block_id, commit.commit_signatures(), harness.validators)
    assert (state.height, state.round, state.locked_round, state.valid_round, state.votes) == (2, 0, -1, -1, {})


def test_decide_on_a_precommit_quorum_from_an_earlier_round(harness):  # line 49: any round r
    state, _ = harness.start(ME)
    state, _ = harness.feed(state, harness.prevote(0, 3, None), harness.prevote(1, 3, None))  # skip to round 3
    state, actions = harness.feed(state, harness.proposal(0, V), *(harness.precommit(i, 0, V) for i in range(3)))
    assert [(a.height, a.round) for a in actions if isinstance(a, Commit)] == [(1, 0)]


def test_f_plus_one_messages_from_a_higher_round_skip_to_it(harness):  # lines 55-56
    state, _ = harness.start(ME)
    state, actions = harness.feed(state, harness.prevote(0, 5, V))
    assert state.round == 0 and actions == []
    state, actions = harness.feed(state, harness.precommit(1, 5, None))
    assert state.round == 5 and ScheduleTimeout(TimeoutKind.PROPOSE, 1, 5, 800) in actions


# --- spurious messages (QBFT-style) ------------------------------------------------------------


def test_one_bad_signature_inside_a_quorum_is_not_counted(harness):
    state, _ = harness.start(ME)
    good = harness.prevote(1, 0, V).vote
    forged = VoteReceived(dataclasses.replace(good, validator=harness.addresses[0]))  # signed by 1, claims 0
    state, actions = harness.feed(state, harness.proposal(0, V), forged, harness.prevote(1, 0, V))
    assert harness.sent(actions, PC) == [] and state.dropped == {"bad_signature": 1}
    state, actions = harness.feed(state, harness.prevote(2, 0, V))
    assert harness.sent(actions, PC) == [block_id(V)]


@pytest.mark.parametrize(
    ("reason", "make"),
    [
        ("malformed", lambda h: VoteReceived(dataclasses.replace(h.prevote(0, 0, V).vote, block_id=b"short"))),
        ("malformed", lambda h: VoteReceived(dataclasses.replace(h.precommit(0, 0, V).vote, commit_signature=b""))),
        ("malformed", lambda h: ProposalReceived(dataclasses.replace(h.proposal(0, V).proposal, signature=b"x"), V)),
        ("malformed", lambda h: VoteReceived("not a vote")),
        ("wrong_chain", lambda h: h.vote(0, PV, 0, V, chain_id=8)),
        ("wrong_chain", lambda h: h.proposal(0, V, chain_id=8)),
        ("wrong_height", lambda h: h.prevote(0, 0, V, height=2)),
        ("wrong_height", lambda h: h.proposal(0, V, height=2)),
        (
            "non_validator",
            lambda h: VoteReceived(dataclasses.replace(h.prevote(0, 0, V).vote, validator="0x" + "11" * 20)),
        ),
        ("not_proposer", lambda h: h.proposal(0, V, by=0)),
        ("digest_mismatch", lambda h: ProposalReceived(h.proposal(0, V).proposal, W)),
        ("bad_signature", lambda h: VoteReceived(dataclasses.replace(h.prevote(0, 0, V).vote, round=1))),
        ("round_too_far", lambda h: h.prevote(0, sm.MAX_ROUNDS_AHEAD + 1, V)),
    ],
)
def test_spurious_messages_are_dropped_counted_and_have_no_effect(harness, reason, make):
    state, _ = harness.start(ME)
    after, actions = harness.feed(state, make(harness))
    assert actions == [] and after.dropped == {reason: 1}
    assert (after.votes, after.proposals, after.tally, after.round, after.step) == (
        state.votes, state.proposals, state.tally, state.round, state.step)  # fmt: skip


def test_a_non_validator_with_a_valid_signature_is_dropped(harness):
    outsider = signer(9)
    vote = harness.prevote(0, 0, V).vote
    from consensus.simulator import validator_key
    from ledger.tx import address_of_key

    forged = dataclasses.replace(
        vote, validator=address_of_key(validator_key(9)), signature=outsider(vote.signing_digest())
    )
    state, _ = harness.start(ME)
    state, _ = harness.feed(state, VoteReceived(forged))
    assert state.dropped == {"non_validator": 1}


def test_duplicates_count_once(harness):
    state, _ = harness.start(ME)
    state, _ = harness.feed(
        state, harness.proposal(0, V), harness.proposal(0, V), harness.prevote(0, 0, V), harness.prevote(0, 0, V)
    )
    assert state.dropped == {"duplicate": 2} and state.tally[(0, PV, block_id(V))] == 2


# --- equivocation --------------------------------------------------------------------------------


def test_equivocation_yields_evidence_and_the_second_vote_is_not_counted(harness):
    state, _ = harness.start(ME)
    first, second = harness.prevote(0, 0, V), harness.prevote(0, 0, W)
    state, actions = harness.feed(state, first, second)
    assert actions == [Evidence(first.vote, second.vote)]
    assert state.tally.get((0, PV, block_id(W)), 0) == 0 and state.tally[(0, PV, "any")] == 1
    assert state.dropped == {"equivocation": 1} and state.evidence_count == 1


def test_an_equivocating_proposer_second_proposal_is_kept_for_line_49(harness):
    state, _ = harness.start(ME)
    state, actions = harness.feed(state, harness.proposal(0, V), harness.proposal(0, W))
    assert harness.sent(actions, PV) == [block_id(V)] and state.dropped == {"conflicting_proposal": 1}
    state, actions = harness.feed(state, *(harness.precommit(i, 0, W) for i in range(3)))
    assert [a.block for a in actions if isinstance(a, Commit)] == [W]


# --- crash and restart: never sign twice ---------------------------------------------------------------


def test_restart_resends_what_was_signed_and_reschedules_the_timer(harness):
    state, _ = harness.start(ME)
    state, actions = harness.feed(state, harness.proposal(0, V))
    _, actions = sm.restart(state)
    assert harness.sent(actions, PV) == [block_id(V)]
    assert ScheduleTimeout(TimeoutKind.PREVOTE, 1, 0, 100) in actions


def test_a_vote_once_signed_is_never_replaced_by_a_different_one(harness):
    state, _ = harness.start(ME)
    state, _ = harness.feed(state, harness.proposal(0, V))
    amnesiac = state.copy()
    amnesiac.step, amnesiac.proposals = Step.PROPOSE, {}  # as if the step had been lost in a crash
    state, actions = harness.feed(amnesiac, TimeoutFired(TimeoutKind.PROPOSE, 1, 0))
    assert harness.sent(actions, PV) == [block_id(V)]  # the earlier prevote, not a new nil one
    assert state.dropped == {"refused_double_sign": 1}


def test_an_equivocators_second_vote_never_makes_a_polka_for_line_36(harness):
    state, _ = harness.start(ME)
    state, actions = harness.feed(state, harness.proposal(0, V), harness.prevote(0, 0, None), harness.prevote(0, 0, V))
    state, actions = harness.feed(state, harness.prevote(1, 0, V))  # V: us, 1, and 0's second vote
    assert harness.sent(actions, PC) == [] and state.locked_round == -1


def test_an_equivocators_second_precommit_completes_a_commit_certificate(harness):
    """Regression found by the simulator: a node that saw the Byzantine's nil precommit first must still
    decide the block the quorum decided, or it livelocks behind the others (line 49)."""
    state, _ = harness.start(ME)
    state, _ = harness.feed(state, harness.proposal(0, V), harness.precommit(0, 0, None))
    state, actions = harness.feed(
        state, harness.precommit(0, 0, V), harness.precommit(1, 0, V), harness.precommit(2, 0, V)
    )
    (commit,) = [a for a in actions if isinstance(a, Commit)]
    assert [v.validator for v in commit.certificate] == sorted(harness.addresses[:3])
    verify_commit(commit.block_id, commit.commit_signatures(), harness.validators)


# --- the hold between heights (Config.hold_new_height, the driver's block interval) -------------


def decided_height_one(harness, **overrides: object) -> tuple[sm.State, list]:
    state, _ = harness.start(ME, **overrides)
    events = [harness.proposal(0, V)] + [harness.precommit(i, 0, V) for i in (0, 1, 2)]
    return harness.feed(state, *events)


def test_held_after_a_decision_until_begin_height(harness):
    state, actions = decided_height_one(harness, hold_new_height=True)
    assert [a.height for a in actions if isinstance(a, Commit)] == [1]
    assert (state.height, state.round_started) == (2, False)
    assert not [a for a in actions if isinstance(a, ScheduleTimeout) and a.height == 2]
    # a proposal for height 2 arrives while held: recorded, but no prevote and no timeout fires
    proposal = harness.proposal(0, W, height=2)
    state, actions = harness.feed(state, proposal, TimeoutFired(TimeoutKind.PROPOSE, 2, 0))
    assert actions == [] and state.step == Step.PROPOSE
    state, actions = sm.begin_height(state)
    assert harness.sent(actions, PV) == [block_id(W)]  # line 22 fires for the stored proposal
    again, more = sm.begin_height(state)
    assert more == [] and again.step == state.step  # a second begin does nothing


def test_without_hold_the_next_round_starts_at_once(harness):
    state, actions = decided_height_one(harness)
    assert (state.height, state.round_started) == (2, True)
    assert any(isinstance(a, ScheduleTimeout) and a.height == 2 for a in actions) or harness.sent(actions, PV)


def test_held_node_joins_a_later_round_on_f_plus_one_messages(harness):  # line 55 while held
    state, _ = decided_height_one(harness, hold_new_height=True)
    state, _ = harness.feed(state, harness.prevote(0, 1, None, height=2), harness.prevote(1, 1, None, height=2))
    assert (state.round, state.round_started) == (1, True)
