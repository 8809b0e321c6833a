"""Seeded, deterministic network simulator: the main test harness of the consensus core.

A whole cluster runs in one process on simulated time. One priority queue, ordered by (time,
sequence), holds message deliveries, timeouts, gossip ticks, crashes and restarts; every random
choice comes from one `random.Random` seeded by (scenario, seed). The same seed therefore replays the
same run event for event, and a failure prints the command that replays it:

    python -m consensus.simulator --seed 123 --scenario partition

Scenarios (all with n = 3f + 1 validators, 4 or 7, equal or unequal voting power):
    lossy         loss, random delay (so reordering), duplication
    partition     two sides, neither with a quorum, until the partition heals at a given time
    crash         up to f of the power crashes and restarts from its persisted state (a node keeps a
                  copy of its state as of its last signed message, so it never signs twice)
    equivocation  Byzantine validators (< 1/3 of the power) propose different blocks to different
                  peers (some invalid) and send conflicting prevotes and precommits
    amnesia       Byzantine validators forget their lock every step and vote against it

After every run: agreement (honest nodes never commit different blocks at a height), validity (only
valid blocks, each with a certificate that passes consensus.commit.verify_commit), and liveness (all
honest nodes reach the target height within a simulated-time bound after the network is healthy).

The driver also does what Tendermint's gossip layer does, in the simplest form: every
GOSSIP_INTERVAL_MS a node re-sends what it signed at its height and the prevotes proving its
validValue, and sends a peer at a height it has already decided that height's proposal and
certificate, so a peer which lost messages, or restarted, still decides. Peers' heights are read
from their state, as CometBFT learns them from its peers' NewRoundStep announcements.
"""

from __future__ import annotations

import argparse
import heapq
import random
import sys
from dataclasses import dataclass, field
from functools import lru_cache

from consensus import state_machine as sm
from consensus.commit import InvalidCommitError, ValidatorPower, ValidatorSet, verify_commit
from consensus.signing import make_signer, verify_proposal, verify_vote
from consensus.types import (
    Broadcast,
    Commit,
    Evidence,
    Proposal,
    ProposalReceived,
    ScheduleTimeout,
    TimeoutFired,
    Vote,
    VoteKind,
    VoteReceived,
    proposal_digest,
    vote_digest,
)
from ledger.hashing import keccak
from ledger.tx import address_of_key

SCENARIOS = ("lossy", "partition", "crash", "equivocation", "amnesia")
CHAIN_ID = 7
GOSSIP_INTERVAL_MS = 400
LIVENESS_BOUND_MS = 40_000  # after the network is healthy; timeouts grow linearly, so rounds get long enough
MAX_EVENTS = 200_000  # a limit on every run, so a livelock is a failure, not a hang
INVALID_PREFIX = b"invalid"


class SimulationFailure(AssertionError):
    """A safety or liveness property failed; the message names the seed and the replay command."""


def replay_command(seed: int, scenario: str) -> str:
    return f"python -m consensus.simulator --seed {seed} --scenario {scenario}"


# --- blocks: opaque bytes, identified by their hash --------------------------------------------


def block_id(block: object) -> bytes:
    assert isinstance(block, bytes), "simulated blocks are bytes"
    return keccak(block)


def is_valid(block: object) -> bool:
    return isinstance(block, bytes) and not block.startswith(INVALID_PREFIX)


def honest_value(address: str) -> object:
    def get_value(height: int, round_: int) -> object:
        return f"h{height}-r{round_}-p{address}".encode()

    return get_value


def alternative_block(height: int, round_: int, variant: int, seed: int) -> bytes:
    """A Byzantine proposer's other block for (height, round): a third of them are invalid."""
    invalid = keccak(f"{seed}/{height}/{round_}/{variant}".encode())[0] % 3 == 0
    prefix = INVALID_PREFIX if invalid else b"alt"
    return prefix + f"-h{height}-r{round_}-v{variant}".encode()


@lru_cache(maxsize=64)
def validator_key(index: int) -> bytes:
    return keccak(f"qenex-simulated-validator-{index}".encode())


@lru_cache(maxsize=64)
def signer(index: int):  # noqa: ANN201 - a memoised Callable[[bytes], bytes]
    return lru_cache(maxsize=1 << 14)(make_signer(validator_key(index)))


# --- the scenario a seed stands for ----------------------------------------------------------


@dataclass
class Params:
    n: int
    powers: list[int]
    heights: int
    loss: float
    delay_ms: tuple[int, int]
    duplicate: float
    partition: tuple[frozenset[int], int] | None = None  # (one side, heal time)
    crashes: list[tuple[int, int, int]] = field(default_factory=list)  # (node, crash time, restart time)
    byzantine: dict[int, str] = field(default_factory=dict)  # node -> "equivocation" | "amnesia"

    @property
    def healthy_at_ms(self) -> int:
        times = [0] + [restart for _, _, restart in self.crashes]
        if self.partition is not None:
            times.append(self.partition[1])
        return max(times)


def _faulty_budget(powers: list[int], rng: random.Random, limit: int) -> list[int]:
    """Up to `limit` nodes whose power is < 1/3 of the total together (so at most f faulty)."""
    order = list(range(len(powers)))
    rng.shuffle(order)
    chosen: list[int] = []
    for node in order:
        if len(chosen) < limit and 3 * (sum(powers[c] for c in chosen) + powers[node]) < sum(powers):
            chosen.append(node)
    return chosen


def make_params(seed: int, scenario: str) -> Params:
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; choose from {', '.join(SCENARIOS)}")
    rng = random.Random(f"{scenario}:{seed}")
    n = 7 if rng.random() < 0.25 else 4
    f = (n - 1) // 3
    powers = [1] * n if rng.random() < 0.5 else [rng.randint(1, 3) for _ in range(n)]
    params = Params(
        n=n,
        powers=powers,
        heights=rng.randint(3, 4),
        loss=rng.choice([0.0, 0.05, 0.15]) if scenario != "lossy" else rng.uniform(0.05, 0.25),
        delay_ms=(rng.randint(1, 20), rng.randint(30, 250)),
        duplicate=rng.choice([0.0, 0.05, 0.2]),
    )
    if scenario == "partition":
        side = frozenset(rng.sample(range(n), rng.randint(1, n // 2)))
        params.partition = (side, rng.randint(300, 5000))
    elif scenario == "crash":
        for node in _faulty_budget(powers, rng, rng.randint(1, f)):
            crash_at = rng.randint(0, 2500)
            params.crashes.append((node, crash_at, crash_at + rng.randint(50, 4000)))
    elif scenario in ("equivocation", "amnesia"):
        for node in _faulty_budget(powers, rng, f):
            params.byzantine[node] = scenario
    return params


# --- the simulated cluster -------------------------------------------------------------------


@dataclass
class Node:
    index: int
    address: str
    state: sm.State
    persisted: sm.State  # the state as of the last message this node signed (or its last commit)
    byzantine: str | None = None
    alive: bool = True
    incarnation: int = 0  # timers set before a crash must not fire after the restart
    commits: dict[int, Commit] = field(default_factory=dict)


@dataclass
class Result:
    seed: int
    scenario: str
    params: Params
    time_ms: int
    events: int
    commits: dict[int, dict[int, bytes]]  # node -> height -> block id
    evidence: int
    dropped: dict[str, int]


class Simulation:
    def __init__(self, seed: int, scenario: str) -> None:
        self.seed, self.scenario = seed, scenario
        self.params = make_params(seed, scenario)
        self.rng = random.Random(f"network:{scenario}:{seed}")
        self.validators = ValidatorSet(
            ValidatorPower(address_of_key(validator_key(i)), self.params.powers[i]) for i in range(self.params.n)
        )
        self.index_of = {address_of_key(validator_key(i)).lower(): i for i in range(self.params.n)}
        self.queue: list[tuple[int, int, str, object]] = []
        self.sequence = 0
        self.now = 0
        self.events = 0
        self.evidence = 0
        started = [self._make_node(i) for i in range(self.params.n)]
        self.nodes = [node for node, _ in started]
        self._start_actions = [actions for _, actions in started]

    def _make_node(self, index: int) -> tuple[Node, list]:
        address = address_of_key(validator_key(index))
        config = sm.Config(
            chain_id=CHAIN_ID,
            validators=self.validators,
            address=address,
            sign=signer(index),
            verify_vote=verify_vote,
            verify_proposal=verify_proposal,
            is_valid=is_valid,
            block_id=block_id,
            get_value=honest_value(address.lower()),
        )
        state, actions = sm.start(config)
        return Node(index, address.lower(), state, state, byzantine=self.params.byzantine.get(index)), actions

    # the queue

    def _push(self, at_ms: int, kind: str, payload: object) -> None:
        self.sequence += 1
        heapq.heappush(self.queue, (at_ms, self.sequence, kind, payload))

    def _send(self, source: int, target: int, event: object) -> None:
        params = self.params
        if params.partition is not None:
            side, heal_ms = params.partition
            if self.now < heal_ms and (source in side) != (target in side):
                return
        if self.rng.random() < params.loss:
            return
        copies = 2 if self.rng.random() < params.duplicate else 1
        for _ in range(copies):
            self._push(self.now + self.rng.randint(*params.delay_ms), "deliver", (target, event))

    # running

    def run(self) -> Result:
        for node, actions in zip(self.nodes, self._start_actions, strict=True):
            self._perform(node, actions)
        for node in self.nodes:
            self._push(GOSSIP_INTERVAL_MS + node.index, "gossip", node.index)
        for node_index, crash_ms, restart_ms in self.params.crashes:
            self._push(crash_ms, "crash", node_index)
            self._push(restart_ms, "restart", node_index)
        deadline_ms = self.params.healthy_at_ms + LIVENESS_BOUND_MS
        while self.queue and not self._all_decided():
            at_ms, _, kind, payload = heapq.heappop(self.queue)
            if at_ms > deadline_ms:
                break
            self.now = at_ms
            self.events += 1
            if self.events > MAX_EVENTS:
                self._fail(f"more than {MAX_EVENTS} events")
            self._dispatch(kind, payload)
        result = self._result()
        self._check(result)
        return result

    def _dispatch(self, kind: str, payload: object) -> None:
        if kind == "deliver":
            target, event = payload
            node = self.nodes[target]
            if node.alive:
                self._step(node, event)
        elif kind == "timeout":
            target, incarnation, event = payload
            node = self.nodes[target]
            if node.alive and node.incarnation == incarnation:
                self._step(node, event)
        elif kind == "gossip":
            node = self.nodes[payload]
            if node.alive:
                self._gossip(node)
            self._push(self.now + GOSSIP_INTERVAL_MS, "gossip", payload)
        elif kind == "crash":
            node = self.nodes[payload]
            node.alive, node.incarnation = False, node.incarnation + 1
        elif kind == "restart":
            node = self.nodes[payload]
            node.alive = True
            node.state, actions = sm.restart(node.persisted)
            self._perform(node, actions)

    def _step(self, node: Node, event: object) -> None:
        state = node.state
        if node.byzantine == "amnesia":
            state = state.copy()
            state.locked_value, state.locked_round = None, -1
        node.state, actions = sm.step(state, event)
        self._perform(node, actions)

    def _perform(self, node: Node, actions: list) -> None:
        for action in actions:
            if isinstance(action, Broadcast):
                self._broadcast(node, action)
            elif isinstance(action, ScheduleTimeout):
                fired = TimeoutFired(action.kind, action.height, action.round)
                self._push(self.now + action.duration_ms, "timeout", (node.index, node.incarnation, fired))
            elif isinstance(action, Commit):
                if action.height in node.commits:
                    self._fail(f"node {node.index} committed height {action.height} twice")
                node.commits[action.height] = action
            elif isinstance(action, Evidence):
                self.evidence += 1
                culprit = self.nodes[self.index_of[action.vote_a.validator.lower()]]
                if culprit.byzantine is None:
                    self._fail(f"accountability: honest node {culprit.index} signed two votes: {action}")
        if any(isinstance(a, Broadcast | Commit) for a in actions):
            node.persisted = node.state  # states are never mutated after `step` returns them

    def _gossip(self, node: Node) -> None:
        for message in sm.own_messages(node.state):
            self._broadcast(node, message)
        for vote in sm.proof_of_lock(node.state):  # relay the polka behind our validValue (CometBFT's POL)
            for peer in self._peers(node):
                self._send(node.index, peer, VoteReceived(vote))
        for peer in self._peers(node):
            decided = node.commits.get(self.nodes[peer].state.height)
            if decided is not None:  # the peer lags: send what lets it decide (CometBFT's catch-up gossip)
                self._send(node.index, peer, ProposalReceived(decided.proposal, decided.block))
                for vote in decided.certificate:
                    self._send(node.index, peer, VoteReceived(vote))

    def _peers(self, node: Node) -> list[int]:
        return [i for i in range(self.params.n) if i != node.index]

    def _broadcast(self, node: Node, action: Broadcast) -> None:
        message = action.message
        for peer in self._peers(node):
            if node.byzantine == "equivocation" and peer % 2 == 1:
                message_for_peer, block = self._conflicting(node, action)
            else:
                message_for_peer, block = message, action.block
            if isinstance(message_for_peer, Proposal):
                self._send(node.index, peer, ProposalReceived(message_for_peer, block))
            else:
                self._send(node.index, peer, VoteReceived(message_for_peer))

    def _conflicting(self, node: Node, action: Broadcast) -> tuple[Proposal | Vote, object]:
        """What an equivocating validator tells the odd-numbered peers instead."""
        sign = signer(node.index)
        message = action.message
        if isinstance(message, Proposal):
            block = alternative_block(message.height, message.round, 1, self.seed)
            bid = block_id(block)
            digest = proposal_digest(message.chain_id, message.height, message.round, bid, message.valid_round)
            return Proposal(message.chain_id, message.height, message.round, bid, message.valid_round,
                            message.proposer, sign(digest)), block  # fmt: skip
        other = block_id(alternative_block(message.height, message.round, 1, self.seed))
        bid = other if message.block_id is None else None
        digest = vote_digest(message.kind, message.chain_id, message.height, message.round, bid)
        commit_signature = sign(bid) if message.kind == VoteKind.PRECOMMIT and bid is not None else b""
        vote = Vote(message.kind, message.chain_id, message.height, message.round, bid, message.validator,
                    sign(digest), commit_signature)  # fmt: skip
        return vote, None

    # checking

    def _honest(self) -> list[Node]:
        return [node for node in self.nodes if node.byzantine is None]

    def _all_decided(self) -> bool:
        return all(len(node.commits) >= self.params.heights for node in self._honest())

    def _result(self) -> Result:
        dropped: dict[str, int] = {}
        for node in self.nodes:
            for reason, count in node.state.dropped.items():
                dropped[reason] = dropped.get(reason, 0) + count
        commits = {node.index: {h: c.block_id for h, c in node.commits.items()} for node in self.nodes}
        return Result(self.seed, self.scenario, self.params, self.now, self.events, commits, self.evidence, dropped)

    def _fail(self, message: str) -> None:
        raise SimulationFailure(
            f"seed {self.seed}, scenario {self.scenario}: {message} (params {self.params})\n"
            f"replay: {replay_command(self.seed, self.scenario)}"
        )

    def _check(self, result: Result) -> None:
        decided: dict[int, bytes] = {}
        checked: set[tuple[int, bytes, tuple[bytes, ...]]] = set()
        for node in self._honest():
            for height, commit in sorted(node.commits.items()):
                if decided.setdefault(height, commit.block_id) != commit.block_id:
                    self._fail(f"agreement: two honest nodes committed different blocks at height {height}")
                if not is_valid(commit.block) or block_id(commit.block) != commit.block_id:
                    self._fail(f"validity: node {node.index} committed an invalid block at height {height}")
                key = (height, commit.block_id, tuple(commit.commit_signatures()))
                if key not in checked:
                    checked.add(key)
                    try:
                        verify_commit(commit.block_id, commit.commit_signatures(), self.validators)
                    except InvalidCommitError as exc:
                        self._fail(f"validity: certificate at height {height} fails verify_commit: {exc}")
            if sorted(node.commits) != list(range(1, len(node.commits) + 1)):
                self._fail(f"node {node.index} committed heights {sorted(node.commits)}, not 1..k")
        lagging = [node.index for node in self._honest() if len(node.commits) < self.params.heights]
        if lagging:
            self._fail(
                f"liveness: honest node(s) {lagging} below height {self.params.heights} at {self.now} ms "
                f"(healthy from {self.params.healthy_at_ms} ms)"
            )


def run(seed: int, scenario: str) -> Result:
    return Simulation(seed, scenario).run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the consensus simulator for one seed, or a range of seeds.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", type=int, default=1, help="run seeds seed .. seed+seeds-1")
    parser.add_argument("--scenario", choices=(*SCENARIOS, "all"), default="all")
    args = parser.parse_args(argv)
    scenarios = SCENARIOS if args.scenario == "all" else (args.scenario,)
    failures = 0
    for scenario in scenarios:
        for seed in range(args.seed, args.seed + args.seeds):
            try:
                result = run(seed, scenario)
            except SimulationFailure as exc:
                failures += 1
                print(f"FAIL {exc}", file=sys.stderr)
                continue
            honest = [i for i in range(result.params.n) if i not in result.params.byzantine]
            heights = min(len(result.commits[i]) for i in honest)
            print(
                f"ok seed={seed} scenario={scenario} n={result.params.n} heights={heights} "
                f"time_ms={result.time_ms} events={result.events} evidence={result.evidence} dropped={result.dropped}"
            )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
