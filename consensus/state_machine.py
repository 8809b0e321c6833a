"""Tendermint consensus (Buchman, Kwon, Milosevic, arXiv 1807.04938, Algorithm 1) as a pure function.

    state, actions = step(state, event)

`step` never mutates its input: it works on a copy and returns it with the actions the driver must
perform (broadcast, schedule a timeout, commit, report evidence). No clock, socket or randomness is
touched: signing, signature checks, block validity and block creation are pure functions handed in
through `Config`, so a simulator can run hundreds of validators in one process and replay any run
exactly. Comments `# line N` name the lines of the paper's pseudo-code; docs/consensus.md has the
full map.

Block validity is the `is_valid(block)` callback of the Config rather than a flag in the event: the
driver cannot then forget to check it, and the state machine evaluates it once per proposal.

Messages the algorithm must not count are dropped and counted by reason in `State.dropped`
(malformed, wrong chain, wrong height, non-validator, bad signature, ...). A second, different vote
from one validator for the same height, round and kind is equivocation: it yields an Evidence
action and is not counted, so a Byzantine validator's power is counted at most once per tally.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from consensus.commit import ValidatorSet
from consensus.proposer import proposer
from consensus.types import (
    BLOCK_ID_BYTES,
    SIGNATURE_BYTES,
    Action,
    Broadcast,
    Commit,
    Event,
    Evidence,
    Proposal,
    ProposalReceived,
    ScheduleTimeout,
    Step,
    TimeoutFired,
    TimeoutKind,
    Vote,
    VoteKind,
    VoteReceived,
    proposal_digest,
    vote_digest,
)

ANY = "any"  # tally key for "2f+1 <PREVOTE, h, r, *>": votes for any value, nil included
MAX_ROUNDS_AHEAD = 64  # a bound on how far ahead of our round we keep votes (memory, not safety)
MAX_CONFLICTING_PER_VALIDATOR = 2  # per (round, kind): kept for evidence and certificates, never for tallies
MAX_PROPOSALS_PER_ROUND = 4  # an equivocating proposer's extra proposals are kept, up to this bound


@dataclass(frozen=True, slots=True)
class Timeouts:
    """timeout(kind, round) = base + round * delta: linear growth, so after GST some round is long
    enough for every honest message to arrive (the paper's liveness argument needs unbounded growth)."""

    propose_ms: int = 300
    propose_delta_ms: int = 100
    prevote_ms: int = 100
    prevote_delta_ms: int = 50
    precommit_ms: int = 100
    precommit_delta_ms: int = 50

    def duration_ms(self, kind: TimeoutKind, round_: int) -> int:
        base, delta = {
            TimeoutKind.PROPOSE: (self.propose_ms, self.propose_delta_ms),
            TimeoutKind.PREVOTE: (self.prevote_ms, self.prevote_delta_ms),
            TimeoutKind.PRECOMMIT: (self.precommit_ms, self.precommit_delta_ms),
        }[kind]
        return base + round_ * delta


@dataclass(frozen=True)
class Config:
    """Who we are and the pure functions the algorithm needs from the outside world."""

    chain_id: int
    validators: ValidatorSet
    address: str  # this validator's address
    sign: Callable[[bytes], bytes]  # 32-byte digest -> 65-byte recoverable signature
    verify_vote: Callable[[Vote], bool]  # does the signature (and commit signature) recover vote.validator?
    verify_proposal: Callable[[Proposal], bool]
    is_valid: Callable[[object], bool]  # valid(v) of the paper
    block_id: Callable[[object], bytes]  # id(v) of the paper: a 32-byte hash
    get_value: Callable[[int, int], object]  # getValue() of line 18, given (height, round)
    timeouts: Timeouts = field(default_factory=Timeouts)
    # After a decision, wait for the driver's `begin_height` before StartRound(0) of the next height
    # (CometBFT's timeout_commit / create_empty_blocks=false): a chain with nothing to do then makes
    # no empty blocks and proposers do not race ahead of the block interval. Messages that arrive in
    # the meantime are recorded; only lines 49 (decide) and 55 (join a later round) may fire.
    hold_new_height: bool = False


@dataclass(slots=True)
class State:
    """One validator's consensus state for the current height. Copied, never shared, by `step`."""

    config: Config
    height: int = 1
    round: int = 0
    step: Step = Step.PROPOSE
    locked_value: object = None
    locked_round: int = -1
    valid_value: object = None
    valid_round: int = -1
    # round -> ((proposal, block, valid(block)), ...) in arrival order, only from proposer(h, round). An
    # equivocating proposer's second proposal is kept too: line 49 must see the one the quorum decided.
    proposals: dict[int, tuple[tuple[Proposal, object, bool], ...]] = field(default_factory=dict)
    votes: dict[tuple[int, VoteKind, str], Vote] = field(default_factory=dict)  # (round, kind, validator)
    tally: dict[tuple[int, VoteKind, object], int] = field(default_factory=dict)  # (round, kind, id|None|ANY)
    # equivocating second votes, (round, kind, validator, block id) -> vote; only lines 28 and 49 use them
    conflicting: dict[tuple[int, VoteKind, str, bytes | None], Vote] = field(default_factory=dict)
    senders: dict[int, frozenset[str]] = field(default_factory=dict)  # round -> who sent any message (line 55)
    fired: frozenset[tuple[int, int]] = frozenset()  # (paper line, round) of "for the first time" rules
    signed_votes: dict[tuple[int, int, VoteKind], Vote] = field(default_factory=dict)  # our own, this height
    signed_proposals: dict[tuple[int, int], tuple[Proposal, object]] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)  # reason -> count
    evidence_count: int = 0
    round_started: bool = True  # False while held between a decision and `begin_height`

    def copy(self) -> State:
        return replace(
            self,
            proposals=dict(self.proposals),
            votes=dict(self.votes),
            tally=dict(self.tally),
            conflicting=dict(self.conflicting),
            senders=dict(self.senders),
            signed_votes=dict(self.signed_votes),
            signed_proposals=dict(self.signed_proposals),
            dropped=dict(self.dropped),
        )

    @property
    def me(self) -> str:
        return self.config.address.lower()

    def locked_id(self) -> bytes | None:
        return None if self.locked_value is None else self.config.block_id(self.locked_value)


# --- entry points ----------------------------------------------------------------------------


def start(config: Config, height: int = 1) -> tuple[State, list[Action]]:
    """Line 10: upon start do StartRound(0)."""
    state = State(config=config, height=height)
    actions: list[Action] = []
    _start_round(state, 0, actions)
    _run_rules(state, actions)
    return state, actions


def step(state: State, event: Event) -> tuple[State, list[Action]]:
    """Apply one event; return the new state and the actions it causes. `state` is left untouched."""
    s = state.copy()
    actions: list[Action] = []
    if isinstance(event, ProposalReceived):
        changed = _on_proposal(s, event.proposal, event.block)
    elif isinstance(event, VoteReceived):
        changed = _on_vote(s, event.vote, actions)
    elif isinstance(event, TimeoutFired):
        changed = _on_timeout(s, event, actions)
    else:
        raise TypeError(f"not a consensus event: {type(event).__name__}")
    if changed:
        _run_rules(s, actions)
    return s, actions


def begin_height(state: State) -> tuple[State, list[Action]]:
    """The driver ends the hold after a decision (see Config.hold_new_height): StartRound(0)."""
    s = state.copy()
    actions: list[Action] = []
    if not s.round_started:
        _start_round(s, 0, actions)
        _run_rules(s, actions)
    return s, actions


def restart(state: State) -> tuple[State, list[Action]]:
    """Resume from a persisted state after a crash: the timers died with the process, so schedule the
    one our step waits on, and re-send what we signed at this height (peers may have missed it)."""
    s = state.copy()
    actions: list[Action] = list(own_messages(s))
    if not s.round_started:
        return s, actions  # still held: the driver calls begin_height
    kind = {Step.PROPOSE: TimeoutKind.PROPOSE, Step.PREVOTE: TimeoutKind.PREVOTE, Step.PRECOMMIT: TimeoutKind.PRECOMMIT}
    timeout_kind = kind[s.step]
    actions.append(
        ScheduleTimeout(timeout_kind, s.height, s.round, s.config.timeouts.duration_ms(timeout_kind, s.round))
    )
    _run_rules(s, actions)
    return s, actions


def own_messages(state: State) -> list[Broadcast]:
    """Everything this validator signed at the current height, for re-sending (gossip, restart)."""
    messages = [Broadcast(p, block) for p, block in state.signed_proposals.values()]
    return messages + [Broadcast(vote) for vote in state.signed_votes.values()]


# --- receiving messages ----------------------------------------------------------------------


def _drop(s: State, reason: str) -> bool:
    s.dropped[reason] = s.dropped.get(reason, 0) + 1
    return False


def _is_signature(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == SIGNATURE_BYTES


def _is_block_id(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == BLOCK_ID_BYTES


def _proposal_well_formed(p: object) -> bool:
    return (
        isinstance(p, Proposal)
        and all(isinstance(x, int) for x in (p.chain_id, p.height, p.round, p.valid_round))
        and p.height >= 1
        and p.round >= 0
        and -1 <= p.valid_round < p.round
        and _is_block_id(p.block_id)
        and isinstance(p.proposer, str)
        and _is_signature(p.signature)
    )


def _vote_well_formed(v: object) -> bool:
    if not isinstance(v, Vote) or v.kind not in (VoteKind.PREVOTE, VoteKind.PRECOMMIT):
        return False
    if not all(isinstance(x, int) for x in (v.chain_id, v.height, v.round)) or v.height < 1 or v.round < 0:
        return False
    if not (v.block_id is None or _is_block_id(v.block_id)) or not isinstance(v.validator, str):
        return False
    needs_commit_signature = v.kind == VoteKind.PRECOMMIT and v.block_id is not None
    commit_ok = _is_signature(v.commit_signature) if needs_commit_signature else v.commit_signature == b""
    return _is_signature(v.signature) and commit_ok


def _envelope_refusal(s: State, chain_id: int, height: int, round_: int, signer: str) -> str | None:
    """Why a proposal or vote is not for this node to count (same rules for both), or None."""
    if chain_id != s.config.chain_id:
        return "wrong_chain"
    if height != s.height:
        return "wrong_height"
    if round_ > s.round + MAX_ROUNDS_AHEAD:
        return "round_too_far"
    if signer not in s.config.validators.powers:
        return "non_validator"
    return None


def _on_proposal(s: State, p: Proposal, block: object) -> bool:
    if not _proposal_well_formed(p):
        return _drop(s, "malformed")
    refusal = _envelope_refusal(s, p.chain_id, p.height, p.round, p.proposer.lower())
    if refusal is not None:
        return _drop(s, refusal)
    if p.proposer.lower() != proposer(s.config.validators, s.height, p.round):
        return _drop(s, "not_proposer")
    existing = s.proposals.get(p.round, ())
    if any(entry[0] == p for entry in existing):
        return _drop(s, "duplicate")
    if not s.config.verify_proposal(p):
        return _drop(s, "bad_signature")
    if s.config.block_id(block) != p.block_id:
        return _drop(s, "digest_mismatch")
    if existing:
        s.dropped["conflicting_proposal"] = s.dropped.get("conflicting_proposal", 0) + 1  # counted, yet kept
        if len(existing) >= MAX_PROPOSALS_PER_ROUND:
            return _drop(s, "too_many_proposals")
    s.proposals[p.round] = (*existing, (p, block, bool(s.config.is_valid(block))))
    _add_sender(s, p.round, p.proposer.lower())
    return True


def _on_vote(s: State, v: Vote, actions: list[Action]) -> bool:
    if not _vote_well_formed(v):
        return _drop(s, "malformed")
    validator = v.validator.lower()
    refusal = _envelope_refusal(s, v.chain_id, v.height, v.round, validator)
    if refusal is not None:
        return _drop(s, refusal)
    existing = s.votes.get((v.round, v.kind, validator))
    if existing == v or s.conflicting.get((v.round, v.kind, validator, v.block_id)) == v:
        return _drop(s, "duplicate")
    if not s.config.verify_vote(v):
        return _drop(s, "bad_signature")
    if existing is not None:
        return _on_equivocation(s, existing, v, actions)
    _record_vote(s, v)
    return True


def _on_equivocation(s: State, first: Vote, second: Vote, actions: list[Action]) -> bool:
    """Report it, and never count the second vote in the tallies that drive this round (lines 34-48,
    55). It is still a signature on a block, so it is kept (bounded) for the two rules that use votes
    as a proof about a value: the proof-of-lock of line 28 and the commit certificate of line 49. An
    honest node that saw the Byzantine's other vote first can then still accept a value the quorum
    locked or decided, as CometBFT accepts such votes once a peer claims a +2/3 majority
    (VoteSetMaj23). Quorum intersection does not rely on a Byzantine validator voting consistently,
    so counting each of its votes once per value is safe."""
    s.evidence_count += 1
    actions.append(Evidence(first, second))
    validator = second.validator.lower()
    kept = sum(1 for key in s.conflicting if key[:3] == (second.round, second.kind, validator))
    if second.block_id is not None and kept < MAX_CONFLICTING_PER_VALIDATOR:
        s.conflicting[(second.round, second.kind, validator, second.block_id)] = second
        _drop(s, "equivocation")
        return True  # line 28 or 49 may now fire
    return _drop(s, "equivocation")


def _record_vote(s: State, v: Vote) -> None:
    validator = v.validator.lower()
    s.votes[(v.round, v.kind, validator)] = v
    power = s.config.validators.powers[validator]
    for key in ((v.round, v.kind, v.block_id), (v.round, v.kind, ANY)):
        s.tally[key] = s.tally.get(key, 0) + power
    _add_sender(s, v.round, validator)


def _add_sender(s: State, round_: int, validator: str) -> None:
    s.senders[round_] = s.senders.get(round_, frozenset()) | {validator}


# --- lines 57-67: timeouts -------------------------------------------------------------------


def _on_timeout(s: State, t: TimeoutFired, actions: list[Action]) -> bool:
    if t.height != s.height or t.round != s.round or not s.round_started:
        return False
    if t.kind == TimeoutKind.PROPOSE and s.step == Step.PROPOSE:  # line 57
        _broadcast_vote(s, VoteKind.PREVOTE, None, actions)
        s.step = Step.PREVOTE
        return True
    if t.kind == TimeoutKind.PREVOTE and s.step == Step.PREVOTE:  # line 61
        _broadcast_vote(s, VoteKind.PRECOMMIT, None, actions)
        s.step = Step.PRECOMMIT
        return True
    if t.kind == TimeoutKind.PRECOMMIT:  # line 65
        _start_round(s, s.round + 1, actions)
        return True
    return False


# --- quorum arithmetic -----------------------------------------------------------------------


def _quorum(s: State, power: int) -> bool:
    """2f+1 of the paper: more than 2/3 of the total voting power, in integers."""
    return 3 * power > 2 * s.config.validators.total_power


def _one_honest(s: State, power: int) -> bool:
    """f+1 of the paper: more than 1/3 of the total voting power, so at least one honest sender."""
    return 3 * power > s.config.validators.total_power


def _power(s: State, round_: int, kind: VoteKind, value: object) -> int:
    return s.tally.get((round_, kind, value), 0)


# --- the rules -------------------------------------------------------------------------------


def _run_rules(s: State, actions: list[Action]) -> None:
    """Fire upon-rules until none applies: one firing (a new round, a new step) can enable another."""
    rules = (_decide, _skip_round, _prevote_fresh, _prevote_polka, _prevote_timeout, _lock, _precommit_nil,
             _precommit_timeout)  # fmt: skip
    for _ in range(10_000):  # each firing changes round, step or `fired`; the bound only guards a bug
        if not any(rule(s, actions) for rule in (rules if s.round_started else rules[:2])):
            return
    raise AssertionError("consensus rules did not settle")


def _start_round(s: State, round_: int, actions: list[Action]) -> None:
    """Lines 11-21: StartRound."""
    s.round = round_
    s.step = Step.PROPOSE
    s.round_started = True
    if proposer(s.config.validators, s.height, round_) == s.me:
        block = s.valid_value if s.valid_value is not None else s.config.get_value(s.height, round_)  # lines 15-18
        _broadcast_proposal(s, block, s.valid_round, actions)  # line 19
    else:
        duration = s.config.timeouts.duration_ms(TimeoutKind.PROPOSE, round_)
        actions.append(ScheduleTimeout(TimeoutKind.PROPOSE, s.height, round_, duration))  # line 21


def _prevote_fresh(s: State, actions: list[Action]) -> bool:
    """Lines 22-27: a proposal without a proof-of-lock (vr = -1)."""
    entries = [e for e in s.proposals.get(s.round, ()) if e[0].valid_round == -1]
    if s.step != Step.PROPOSE or not entries:
        return False
    proposal, _, valid = entries[0]
    acceptable = valid and (s.locked_round == -1 or s.locked_id() == proposal.block_id)  # line 23
    _broadcast_vote(s, VoteKind.PREVOTE, proposal.block_id if acceptable else None, actions)
    s.step = Step.PREVOTE  # line 27
    return True


def _prevote_polka(s: State, actions: list[Action]) -> bool:
    """Lines 28-33: a proposal re-proposing a value with 2f+1 prevotes in round vr, 0 <= vr < round."""
    if s.step != Step.PROPOSE:
        return False
    entries = [
        e
        for e in s.proposals.get(s.round, ())
        if 0 <= e[0].valid_round < s.round
        and _proves(s, votes_for(s, e[0].valid_round, VoteKind.PREVOTE, e[0].block_id))
    ]
    if not entries:
        return False
    proposal, _, valid = entries[0]
    vr = proposal.valid_round
    acceptable = valid and (s.locked_round <= vr or s.locked_id() == proposal.block_id)  # line 29
    _broadcast_vote(s, VoteKind.PREVOTE, proposal.block_id if acceptable else None, actions)
    s.step = Step.PREVOTE  # line 33
    return True


def _prevote_timeout(s: State, actions: list[Action]) -> bool:
    """Lines 34-35: 2f+1 prevotes for anything, the first time in this round."""
    if s.step != Step.PREVOTE or (34, s.round) in s.fired:
        return False
    if not _quorum(s, _power(s, s.round, VoteKind.PREVOTE, ANY)):
        return False
    s.fired |= {(34, s.round)}
    duration = s.config.timeouts.duration_ms(TimeoutKind.PREVOTE, s.round)
    actions.append(ScheduleTimeout(TimeoutKind.PREVOTE, s.height, s.round, duration))
    return True


def _lock(s: State, actions: list[Action]) -> bool:
    """Lines 36-43: a valid proposal with 2f+1 prevotes in this round: lock (if still prevoting), set valid."""
    if s.step < Step.PREVOTE or (36, s.round) in s.fired:
        return False
    entries = [
        e
        for e in s.proposals.get(s.round, ())
        if e[2] and _quorum(s, _power(s, s.round, VoteKind.PREVOTE, e[0].block_id))
    ]
    if not entries:
        return False
    proposal, block, _ = entries[0]
    s.fired |= {(36, s.round)}
    if s.step == Step.PREVOTE:  # lines 37-41
        s.locked_value, s.locked_round = block, s.round
        _broadcast_vote(s, VoteKind.PRECOMMIT, proposal.block_id, actions)
        s.step = Step.PRECOMMIT
    s.valid_value, s.valid_round = block, s.round  # lines 42-43
    return True


def _precommit_nil(s: State, actions: list[Action]) -> bool:
    """Lines 44-46: 2f+1 prevotes for nil."""
    if s.step != Step.PREVOTE or not _quorum(s, _power(s, s.round, VoteKind.PREVOTE, None)):
        return False
    _broadcast_vote(s, VoteKind.PRECOMMIT, None, actions)
    s.step = Step.PRECOMMIT
    return True


def _precommit_timeout(s: State, actions: list[Action]) -> bool:
    """Lines 47-48: 2f+1 precommits for anything, the first time in this round."""
    if (47, s.round) in s.fired or not _quorum(s, _power(s, s.round, VoteKind.PRECOMMIT, ANY)):
        return False
    s.fired |= {(47, s.round)}
    duration = s.config.timeouts.duration_ms(TimeoutKind.PRECOMMIT, s.round)
    actions.append(ScheduleTimeout(TimeoutKind.PRECOMMIT, s.height, s.round, duration))
    return True


def _decide(s: State, actions: list[Action]) -> bool:
    """Lines 49-54: a valid proposal of any round r with 2f+1 precommits for it: decide, next height."""
    decidable = (
        (round_, proposal, block, certificate)
        for round_, entries in sorted(s.proposals.items())
        for proposal, block, valid in entries
        if valid
        for certificate in [votes_for(s, round_, VoteKind.PRECOMMIT, proposal.block_id)]
        if _proves(s, certificate)
    )
    for round_, proposal, block, certificate in decidable:
        actions.append(Commit(s.height, round_, block, proposal.block_id, certificate, proposal))  # line 51
        _enter_height(s, s.height + 1)  # lines 52-53
        if s.config.hold_new_height:
            s.round, s.step, s.round_started = 0, Step.PROPOSE, False  # line 54 runs in begin_height
        else:
            _start_round(s, 0, actions)  # line 54
        return True
    return False


def votes_for(s: State, round_: int, kind: VoteKind, block_id: bytes) -> tuple[Vote, ...]:
    """Every vote we hold of `kind` for block_id in round_ (equivocators' second votes included), one
    per validator, sorted by validator: a commit certificate or a proof-of-lock (polka)."""
    if s.tally.get((round_, kind, block_id), 0) == 0 and not s.conflicting:
        return ()
    votes = {
        validator: vote
        for (r, k, validator), vote in s.votes.items()
        if r == round_ and k == kind and vote.block_id == block_id
    }
    for (r, k, validator, bid), vote in s.conflicting.items():
        if r == round_ and k == kind and bid == block_id:
            votes.setdefault(validator, vote)
    return tuple(vote for _, vote in sorted(votes.items()))


def _proves(s: State, votes: tuple[Vote, ...]) -> bool:
    return _quorum(s, sum(s.config.validators.powers[v.validator.lower()] for v in votes))


def proof_of_lock(s: State) -> tuple[Vote, ...]:
    """The prevotes that justify our validValue (for gossip with a re-proposal, as CometBFT's POL)."""
    if s.valid_round < 0:
        return ()
    return votes_for(s, s.valid_round, VoteKind.PREVOTE, s.config.block_id(s.valid_value))


def _enter_height(s: State, height: int) -> None:
    s.height = height
    s.locked_value, s.locked_round, s.valid_value, s.valid_round = None, -1, None, -1
    s.proposals, s.votes, s.tally, s.conflicting, s.senders, s.fired = {}, {}, {}, {}, {}, frozenset()
    s.signed_votes, s.signed_proposals = {}, {}  # heights only grow: we never sign below this one again


def _skip_round(s: State, actions: list[Action]) -> bool:
    """Lines 55-56: messages from f+1 of the power in a higher round: some honest node is there, join it."""
    powers = s.config.validators.powers
    later = [r for r, who in s.senders.items() if r > s.round and _one_honest(s, sum(powers[v] for v in who))]
    if not later:
        return False
    _start_round(s, max(later), actions)
    return True


# --- signing: never two different messages for one (height, round, kind) -------------------------


def _broadcast_vote(s: State, kind: VoteKind, block_id: bytes | None, actions: list[Action]) -> None:
    if s.me not in s.config.validators.powers:
        return  # an observer follows consensus but has no vote
    key = (s.height, s.round, kind)
    vote = s.signed_votes.get(key)
    if vote is None:
        digest = vote_digest(kind, s.config.chain_id, s.height, s.round, block_id)
        commit_signature = s.config.sign(block_id) if kind == VoteKind.PRECOMMIT and block_id is not None else b""
        vote = Vote(kind, s.config.chain_id, s.height, s.round, block_id, s.me, s.config.sign(digest), commit_signature)
        s.signed_votes[key] = vote
    elif vote.block_id != block_id:
        s.dropped["refused_double_sign"] = s.dropped.get("refused_double_sign", 0) + 1  # re-send the old vote
    if (s.round, kind, s.me) not in s.votes:
        _record_vote(s, vote)
    actions.append(Broadcast(vote))


def _broadcast_proposal(s: State, block: object, valid_round: int, actions: list[Action]) -> None:
    if s.me not in s.config.validators.powers:
        return
    key = (s.height, s.round)
    if key not in s.signed_proposals:
        block_id = s.config.block_id(block)
        signature = s.config.sign(proposal_digest(s.config.chain_id, s.height, s.round, block_id, valid_round))
        proposal = Proposal(s.config.chain_id, s.height, s.round, block_id, valid_round, s.me, signature)
        s.signed_proposals[key] = (proposal, block)
    proposal, block = s.signed_proposals[key]
    if not any(entry[0] == proposal for entry in s.proposals.get(s.round, ())):
        s.proposals[s.round] = (*s.proposals.get(s.round, ()), (proposal, block, bool(s.config.is_valid(block))))
        _add_sender(s, s.round, s.me)
    actions.append(Broadcast(proposal, block))
