"""The consensus driver: runs the pure Tendermint state machine (consensus.state_machine) for a node.

The state machine decides; the driver does everything with a clock, a disk or a socket:

* timers: each ScheduleTimeout becomes a loop.call_later that feeds TimeoutFired back in;
* durability: before a message we signed leaves the node, the signing WAL records it (and refuses a
  second value for the same height/round/step) and the consensus state (round, lock, valid value,
  own messages) is written (node.p2p.persist); a decided block is stored before either;
* blocks: getValue() is Node.propose (the mempool, sealed), valid(v) is Node.execute_proposal
  (re-executed over our head, kept in memory until decided), and a decision is Node.commit_decided
  with the precommits' commit signatures as the block's certificate;
* the hold between heights (Config.hold_new_height): the next height starts one block interval
  after a decision, and only when there is work (a transaction, or a peer already at it) unless
  genesis asks for empty blocks;
* the network (node.p2p.network): consensus messages go out before mempool gossip; messages for the
  next height are buffered until we get there; block sync fetches decided blocks with their
  certificates from peers that are ahead.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from consensus import state_machine as sm
from consensus.proposer import proposer
from consensus.signing import make_signer, verify_proposal, verify_vote
from consensus.types import (
    Broadcast,
    Commit,
    Event,
    Evidence,
    Proposal,
    ProposalReceived,
    ScheduleTimeout,
    TimeoutFired,
    VoteKind,
    VoteReceived,
)
from consensus.wal import DoubleSignError, SigningWal
from ledger.hashing import keccak
from node import governance
from node.admin import max_transactions  # governance may change it
from node.block import Block
from node.chain import ExecutedBlock
from node.execution import InvalidBlockError, TransactionRejected
from node.log import event
from node.p2p import persist, wire
from node.p2p.faults import crash_point
from node.p2p.network import take_gossip_batch

if TYPE_CHECKING:
    from node.p2p.network import NodeNetwork
    from node.service import Node

log = logging.getLogger("qenex.consensus")

GOSSIP_INTERVAL_S = 0.5  # re-send our messages when a height makes no progress for this long
STATUS_INTERVAL_S = 1.0
SYNC_REQUEST_TIMEOUT_S = 5.0
FUTURE_MESSAGES_MAX = 10_000  # messages for the next height, kept until we reach it
SYNC_REPLY_BYTES_MAX = 3 * 1024 * 1024
EXECUTED_CACHE_MAX = 16
MIN_PROPOSE_TIMEOUT_MS = 3000  # CometBFT's default timeout_propose; see timeouts_for
STEP_NAMES = {VoteKind.PREVOTE: "prevote", VoteKind.PRECOMMIT: "precommit"}


class ConsensusDriver:
    def __init__(self, node: Node, network: NodeNetwork | None = None) -> None:
        self.node = node
        self.network = network
        chain = node.chain
        data_dir = node.config.home / "data"
        self.wal = SigningWal(data_dir / "signing.wal")
        self.state_path = data_dir / "consensus-state"
        self.interval_s = node.genesis.block.interval_ms / 1000
        self.config = sm.Config(
            chain_id=node.genesis.chain_id,
            validators=chain.validators,
            address=node.address.lower(),
            sign=make_signer(node.validator_key),
            verify_vote=verify_vote,
            verify_proposal=verify_proposal,
            is_valid=self._is_valid,
            block_id=lambda block: block.hash,
            get_value=self._get_value,
            timeouts=timeouts_for(node.genesis.block.interval_ms),
            hold_new_height=True,
        )
        self.is_validator = self.config.address in chain.validators.powers
        self.executed: dict[bytes, ExecutedBlock | None] = {}  # block hash -> outcome (None: invalid)
        self.future: list[wire.ProposalMessage | wire.VoteMessage] = []
        self.peer_heads: dict[str, int] = {}
        self.sync_request: tuple[str, float] | None = None  # (peer, deadline)
        self.sync_started_at: int | None = None  # our height when peers were first seen ahead
        self.hold_until = 0.0
        self.height_started = time.monotonic()
        self.began_at = -1e9  # monotonic time round 0 of the last height began here
        self.evidence: list[Evidence] = []
        self._progress: tuple[int, int, int] | None = None
        self._stuck_ticks = 0
        self._begin_timer: asyncio.TimerHandle | None = None
        self._dropped_seen: dict[str, int] = {}
        self._prepares: tuple[tuple[int, int], bool] = ((-1, -1), True)
        self.state = self._initial_state()
        node.prepares_next_block = self.prepares_next_block
        if network is not None:
            network.on_peer_connected = self.peer_connected

    # --- start ---------------------------------------------------------------------------------

    def _config_for(self, height: int) -> sm.Config:
        """The consensus config of `height`: the validator set changes only by chain actions."""
        validators = self.node.chain.validators_at(height)
        if validators.powers != self.config.validators.powers:
            self.config = dataclasses.replace(self.config, validators=validators)
            self.is_validator = self.config.address in validators.powers
            event(log, "validator_set_changed", height=height, validators=len(validators.powers),
                  total_power=validators.total_power, validator=self.is_validator)  # fmt: skip
        return self.config

    def _initial_state(self) -> sm.State:
        height = self.node.chain.height + 1
        self._config_for(height)
        restored = persist.restore(self.state_path, self.config, height)
        if restored is not None:
            event(log, "consensus_restored", height=height, round=restored.round, locked_round=restored.locked_round)
            return restored
        return sm.State(config=self.config, height=height, round_started=False)

    async def run(self, stopping: asyncio.Event) -> None:
        """Drive consensus until `stopping` is set."""
        resumed = self.state
        self.state, actions = sm.restart(resumed)
        self._perform(actions)
        for message in sm.own_messages(resumed):  # count our own messages again (tallies are not persisted)
            self._step(
                ProposalReceived(message.message, message.block)
                if isinstance(message.message, Proposal)
                else VoteReceived(message.message)
            )
        self._schedule_begin(0.0)
        tasks = [asyncio.ensure_future(self._ticker(stopping))]
        if self.network is not None:
            await self.network.start(self._on_message)
        try:
            await stopping.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self.network is not None:
                await self.network.close()
            if self._begin_timer is not None:
                self._begin_timer.cancel()
            self.wal.close()

    def peer_count(self) -> int:
        return 0 if self.network is None else self.network.connected()

    def status(self) -> dict:
        s = self.state
        return {
            "height": s.height,
            "round": s.round,
            "step": s.step.name.lower(),
            "roundStarted": s.round_started,
            "lockedRound": s.locked_round,
            "validRound": s.valid_round,
            "validator": self.is_validator,
            "address": self.config.address,
            "peers": self.peer_count(),
            "peerHeads": dict(self.peer_heads),
            "evidence": [
                {"validator": e.vote_a.validator, "height": e.vote_a.height, "round": e.vote_a.round,
                 "kind": STEP_NAMES[e.vote_a.kind]}
                for e in self.evidence
            ],
            "dropped": dict(s.dropped),
        }  # fmt: skip

    def prepares_next_block(self) -> bool:
        """Are we the proposer of the block after our head (in the round under way, else round 0)?
        Only the proposer's prepared block is sealed as it is; every other validator executes
        the proposal, so it admits peers' transactions without booking them (node.service)."""
        height = self.node.chain.height + 1
        round_ = self.state.round if self.state.height == height and self.state.round_started else 0
        if self._prepares[0] != (height, round_):
            mine = proposer(self.config.validators, height, round_) == self.config.address
            self._prepares = ((height, round_), mine)
        return self._prepares[1]

    # --- the state machine's callbacks ---------------------------------------------------------

    def _get_value(self, height: int, round_: int) -> Block:
        started = time.perf_counter()
        executed = self.node.propose()
        self._remember(executed.block.hash, executed)
        event(log, "block_proposed", logging.DEBUG, height=height, round=round_, txs=len(executed.tx_hashes),
              ms=round((time.perf_counter() - started) * 1000, 1))  # fmt: skip
        return executed.block

    def _is_valid(self, block: object) -> bool:
        if not isinstance(block, Block):
            return False
        if block.hash in self.executed:
            return self.executed[block.hash] is not None
        if block.header.number != self.node.chain.height + 1:
            return False  # not over our head: not decidable here (block sync handles the past)
        started = time.perf_counter()
        try:
            executed = self.node.execute_proposal(block)
        except InvalidBlockError as exc:
            event(log, "proposal_invalid", logging.WARNING, height=block.header.number, reason=str(exc))
            self._remember(block.hash, None)
            return False
        self._remember(block.hash, executed)
        event(log, "proposal_executed", logging.DEBUG, height=block.header.number, txs=len(block.transactions),
              ms=round((time.perf_counter() - started) * 1000, 1))  # fmt: skip
        return True

    def _remember(self, block_hash: bytes, executed: ExecutedBlock | None) -> None:
        if len(self.executed) >= EXECUTED_CACHE_MAX:
            self.executed.pop(next(iter(self.executed)))
        self.executed[block_hash] = executed

    # --- stepping ------------------------------------------------------------------------------

    def _step(self, incoming: Event) -> None:
        before = (self.state.height, self.state.round)
        self.state, actions = sm.step(self.state, incoming)
        if self.state.height == before[0] and self.state.round != before[1]:
            event(log, "round_advanced", logging.DEBUG, height=self.state.height, round=self.state.round,
                  cause=type(incoming).__name__)  # fmt: skip
        self._perform(actions)

    def _perform(self, actions: list) -> None:
        """Commit first, then make what we signed durable, then let it out."""
        for action in actions:
            if isinstance(action, Commit):
                crash_point("commit:before_store")
                self._commit(action)
                crash_point("commit:after_store")
        own = [a for a in actions if isinstance(a, Broadcast)]
        steps = ["proposal" if isinstance(a.message, Proposal) else STEP_NAMES[a.message.kind] for a in own]
        allowed = []
        for action, step in zip(own, steps, strict=True):
            message = action.message
            crash_point(f"{step}:before_wal")
            try:
                self.wal.record(message.height, message.round, step, message.block_id or b"")
            except DoubleSignError as exc:
                event(log, "double_sign_refused", logging.ERROR, height=message.height, error=str(exc))
                continue
            allowed.append(action)
        for step in steps:
            crash_point(f"{step}:after_wal")
        if own or any(isinstance(a, Commit) for a in actions):
            persist.save_state(self.state_path, self.state)
        for step in steps:
            crash_point(f"{step}:after_state")
        for action in allowed:
            self._broadcast(action)
        for action in actions:
            if isinstance(action, ScheduleTimeout):
                fired = TimeoutFired(action.kind, action.height, action.round)
                asyncio.get_running_loop().call_later(action.duration_ms / 1000, self._step, fired)
            elif isinstance(action, Evidence):
                self.evidence.append(action)
                self.node.metrics.evidence.inc()
                event(log, "equivocation", logging.WARNING, validator=action.vote_a.validator,
                      height=action.vote_a.height, round=action.vote_a.round)  # fmt: skip
                self._report(action)
        self._count_drops()
        self.node.metrics.round.set(self.state.round)

    def _report(self, found: Evidence) -> None:
        """Put the equivocation on chain: an EVIDENCE action signed with our node key."""
        node = self.node
        votes = (wire.encode(wire.VoteMessage(found.vote_a)), wire.encode(wire.VoteMessage(found.vote_b)))
        try:
            node.submit_action(governance.evidence(*votes))
        except TransactionRejected as rejected:  # e.g. another validator's report was first
            event(log, "evidence_not_sent", logging.INFO, rule=rejected.rule, reason=rejected.message)

    def _count_drops(self) -> None:
        for reason, count in self.state.dropped.items():
            seen = self._dropped_seen.get(reason, 0)
            if count > seen:
                self.node.metrics.consensus_dropped.labels(reason).inc(count - seen)
                self._dropped_seen[reason] = count

    def _broadcast(self, action: Broadcast) -> None:
        message = action.message
        if isinstance(message, Proposal):
            payload, kind = wire.encode(wire.ProposalMessage(message, action.block)), "proposal"
        else:
            payload, kind = wire.encode(wire.VoteMessage(message)), STEP_NAMES[message.kind]
        self.node.metrics.consensus_out.labels(kind).inc()
        if self.network is not None:
            self.network.broadcast_consensus(payload)

    def _commit(self, decided: Commit) -> None:
        executed = self.executed.get(decided.block_id)
        if executed is None:  # decided without our having executed it (cannot happen: line 49 checks valid)
            executed = self.node.execute_proposal(decided.block)
        self.node.commit_decided(executed, tuple(decided.commit_signatures()))
        self._after_height(decided.height)

    def _after_height(self, height: int) -> None:
        config = self.config
        if self._config_for(height + 1) is not config:  # a new set: restart the held height under it
            self.state = sm.State(config=self.config, height=height + 1, round_started=False)
        self.executed.clear()
        self.node.metrics.finality_seconds.observe(time.monotonic() - self.height_started)
        self.height_started = time.monotonic()
        # One block interval between the starts of two heights, not after a decision: a height
        # that took longer than the interval to decide is followed at once (when there is work),
        # so under load the interval does not add to every transaction's finality.
        self.hold_until = max(time.monotonic(), self.began_at + self.interval_s)
        if height % 100 == 0:
            self.wal.prune_below(height)
        self._schedule_begin(0.0 if self._block_ready() else self.hold_until - time.monotonic())
        asyncio.get_running_loop().call_soon(self._replay_future)

    def _replay_future(self) -> None:
        waiting, self.future = self.future, []
        for message in waiting:
            self._deliver(message)

    # --- the hold between heights --------------------------------------------------------------

    def _schedule_begin(self, delay: float) -> None:
        if self._begin_timer is not None:
            self._begin_timer.cancel()
        self._begin_timer = asyncio.get_running_loop().call_later(max(0.0, delay), self.maybe_begin)

    def maybe_begin(self, peer_started: bool = False) -> None:
        """Start round 0 of the held height once the interval has passed and there is work."""
        if self.state.round_started:
            return
        wait = self.hold_until - time.monotonic()
        if wait > 0 and not peer_started and not self._block_ready():
            self._schedule_begin(wait)
            return
        if peer_started or len(self.node.mempool) or self.node.genesis.block.empty_blocks:
            event(log, "height_begun", logging.DEBUG, height=self.state.height, mempool=len(self.node.mempool),
                  peer_started=peer_started)  # fmt: skip
            self.height_started = self.began_at = time.monotonic()
            self.state, actions = sm.begin_height(self.state)
            self._perform(actions)

    def _block_ready(self) -> bool:
        """A full block is waiting: the interval paces blocks only when there is less work than that."""
        return len(self.node.mempool) >= max_transactions(self.node.chain.ledger, self.node.genesis)

    def transaction_admitted(self, raw: bytes) -> None:
        """Told by the node of every transaction admitted from RPC: gossip it, maybe start a height."""
        if self.network is not None:
            self.network.gossip_transaction(raw)
        if not self.state.round_started and (time.monotonic() >= self.hold_until or self._block_ready()):
            self.maybe_begin()

    # --- the network ---------------------------------------------------------------------------

    async def _on_message(self, peer: str, message: wire.Message) -> None:
        if isinstance(message, wire.TxsMessage):
            await self._admit_gossiped(message.transactions)
        elif isinstance(message, wire.StatusMessage):
            self.peer_heads[peer] = message.head
            self._maybe_sync()
        elif isinstance(message, wire.GetBlocksMessage):
            self._serve_blocks(peer, message)
        elif isinstance(message, wire.BlocksMessage):
            await self._import(peer, message.blocks)
        elif isinstance(message, wire.PersonalDataMessage):  # sealed envelopes: node/pii/service.py
            self.node.personal_data.received(peer, message)  # type: ignore[attr-defined]
        elif isinstance(message, wire.ProposalMessage):
            self.node.metrics.consensus_in.labels("proposal").inc()
            signatures = self.node.signatures
            if signatures.enabled and message.block.hash not in self.executed:  # re-sent: no recovery again
                await signatures.recover(self.node.unknown_transactions(message.block))
            self._deliver(message)
        else:
            self.node.metrics.consensus_in.labels(STEP_NAMES[message.vote.kind]).inc()
            self._deliver(message)

    def _deliver(self, message: wire.ProposalMessage | wire.VoteMessage) -> None:
        height = message.proposal.height if isinstance(message, wire.ProposalMessage) else message.vote.height
        if height == self.state.height + 1:
            if len(self.future) < FUTURE_MESSAGES_MAX:
                self.future.append(message)
            return
        if height != self.state.height:
            self.node.metrics.consensus_dropped.labels("wrong_height").inc()
            return
        if not self.state.round_started:
            self.maybe_begin(peer_started=True)
        if isinstance(message, wire.ProposalMessage):
            self._step(ProposalReceived(message.proposal, message.block))
        else:
            self._step(VoteReceived(message.vote))

    def peer_connected(self, peer: str) -> None:
        """A peer that connects (late, or again after a restart or a network split) never saw what
        we gossiped while it was away, and would have those transactions only once a block brought
        them; meanwhile it parks the senders' later ones. So it gets our mempool now, in gossip
        frames behind any consensus message; those it knows cost it one hash lookup each."""
        if self.network is None:
            return
        waiting = deque(signed.raw for signed in self.node.mempool.transactions())
        while waiting:
            self.network.send(peer, wire.encode(wire.TxsMessage(take_gossip_batch(waiting))))

    async def _admit_gossiped(self, raws: tuple[bytes, ...]) -> None:
        hashes = [keccak(raw) for raw in raws]  # once: admission is told each hash
        if self.node.signatures.enabled:
            # transactions a block already brought need no signature recovery (admission refuses them)
            unknown = [raw for raw, tx_hash in zip(raws, hashes, strict=True) if not self.node.is_known(tx_hash)]
            await self.node.signatures.recover(unknown, background=True)
        for index, (raw, tx_hash) in enumerate(zip(raws, hashes, strict=True)):
            self.node.admit_gossiped(raw, tx_hash=tx_hash)
            if index % 256 == 255:
                await asyncio.sleep(0)  # consensus messages first: let them in between
        if not self.state.round_started:
            self.maybe_begin()

    async def _ticker(self, stopping: asyncio.Event) -> None:
        last_status = 0.0
        while not stopping.is_set():
            await asyncio.sleep(GOSSIP_INTERVAL_S)
            progress = (self.state.height, self.state.round, int(self.state.step))
            stuck = progress == self._progress
            self._stuck_ticks = self._stuck_ticks + 1 if stuck else 0
            if stuck and self.state.round_started and self.network is not None:
                for message in sm.own_messages(self.state):  # peers may have missed what we sent
                    # votes are small: every tick; a proposal carries its block: every 4th tick
                    if isinstance(message.message, Proposal) and self._stuck_ticks % 4 != 1:
                        continue
                    self._broadcast(message)
                for vote in sm.proof_of_lock(self.state):
                    self.network.broadcast_consensus(wire.encode(wire.VoteMessage(vote)))
            self._progress = progress
            now = time.monotonic()
            if self.network is not None and now - last_status >= STATUS_INTERVAL_S:
                last_status = now
                status = wire.StatusMessage(self.node.chain.height, self.state.height, self.state.round)
                self.network.broadcast_consensus(wire.encode(status))
                self.node.metrics.peers.set(self.network.connected())
                self._maybe_sync()

    # --- block sync ----------------------------------------------------------------------------

    def _maybe_sync(self) -> None:
        head = self.node.chain.height
        ahead = {peer: h for peer, h in self.peer_heads.items() if h > head}
        if not ahead or self.network is None:
            return
        if self.sync_request is not None and time.monotonic() < self.sync_request[1]:
            return
        peer = max(ahead, key=ahead.__getitem__)
        count = min(wire.MAX_SYNC_BLOCKS, ahead[peer] - head)
        self.sync_request = (peer, time.monotonic() + SYNC_REQUEST_TIMEOUT_S)
        self.network.send(peer, wire.encode(wire.GetBlocksMessage(head + 1, count)))

    def sync_status(self) -> tuple[int, int, int] | None:
        """(starting, current, highest) block while peers are more than one block ahead (what
        eth_syncing reports), else None: one block behind is ordinary consensus, not syncing."""
        head = self.node.chain.height
        best = max(self.peer_heads.values(), default=head)
        if best <= head + 1:
            self.sync_started_at = None
            return None
        if self.sync_started_at is None:
            self.sync_started_at = head
        return self.sync_started_at, head, best

    def _serve_blocks(self, peer: str, request: wire.GetBlocksMessage) -> None:
        if self.network is None:
            return
        blocks, size = [], 0
        last = min(request.first + request.count - 1, self.node.chain.height)
        for number in range(max(1, request.first), last + 1):
            block = self.node.chain.block(number)
            size += len(block.encode())
            if blocks and size > SYNC_REPLY_BYTES_MAX:
                break
            blocks.append(block)
        if blocks:
            self.network.send(peer, wire.encode(wire.BlocksMessage(tuple(blocks))))

    async def _import(self, peer: str, blocks: tuple[Block, ...]) -> None:
        """Blocks with their certificates from a peer: check each against the validators, execute,
        store; then consensus continues at the new height."""
        imported = 0
        for block in blocks:
            if block.header.number != self.node.chain.height + 1:
                continue
            await self.node.signatures.recover(self.node.unknown_transactions(block))
            if block.header.number != self.node.chain.height + 1:
                continue  # consensus decided it while we waited
            try:
                executed = self.node.execute_proposal(block)
                self.node.commit_decided(executed, block.commit)
            except InvalidBlockError as exc:
                self.node.metrics.consensus_dropped.labels("bad_sync_block").inc()
                event(log, "sync_block_refused", logging.WARNING, peer=peer, reason=str(exc))
                break
            imported += 1
            self.node.metrics.synced_blocks.inc()
        self.sync_request = None
        if imported:
            status = self.sync_status()
            target = status[2] if status is not None else self.node.chain.height
            event(log, "blocks_synced", peer=peer, blocks=imported, height=self.node.chain.height, target=target,
                  remaining=target - self.node.chain.height)  # fmt: skip
            self.state = sm.State(config=self._config_for(self.node.chain.height + 1),
                                  height=self.node.chain.height + 1, round_started=False)  # fmt: skip
            self._after_height(self.node.chain.height)
            self._maybe_sync()


def timeouts_for(interval_ms: int) -> sm.Timeouts:
    """Round timeouts scaled to the block interval, linear in the round (never exponential).

    A proposal must be received, its signatures recovered and its block executed before the
    propose timeout, so that timeout is generous: at least CometBFT's 3 s default. A full block
    (thousands of transfers) executed by every validator while the same cores admit the next
    block's transactions takes about a second on a loaded 2-core machine; with a shorter timeout
    validators prevoted nil before the proposal was checked and the round was lost (measured in
    `qenex bench ledger --validators 4`, docs/benchmarks.md). A dead proposer costs one propose
    timeout per height it owns."""
    base = max(500, min(interval_ms, 3000))
    return sm.Timeouts(
        propose_ms=max(2 * base, MIN_PROPOSE_TIMEOUT_MS), propose_delta_ms=base,
        prevote_ms=base, prevote_delta_ms=base // 2,
        precommit_ms=base, precommit_delta_ms=base // 2,
    )  # fmt: skip


Callback = Callable[[], None]
