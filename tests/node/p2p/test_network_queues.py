"""node/p2p/network.py: consensus messages leave before gossiped transactions (a mempool flood cannot
delay a vote), and gossip goes out in bounded batches."""

from __future__ import annotations

import asyncio

from node.p2p import wire
from node.p2p.network import GossipInbox, Outbox


class RecordingTransport:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    async def broadcast(self, payload: bytes) -> int:
        self.sent.append(payload)
        await asyncio.sleep(0)
        return 1

    async def send(self, peer: str, payload: bytes) -> bool:
        self.sent.append(payload)
        return True


def test_votes_overtake_a_transaction_flood():
    async def scenario() -> list[bytes]:
        outbox = Outbox()
        transport = RecordingTransport()
        for i in range(10_000):
            outbox.put_transaction(b"\x51" + i.to_bytes(4, "big"))
        outbox.put_consensus(wire.encode(wire.StatusMessage(1, 2, 0)))
        sender = asyncio.ensure_future(outbox.drain_forever(transport))
        for _ in range(200):
            await asyncio.sleep(0)
            if len(transport.sent) >= 4:
                break
        sender.cancel()
        return transport.sent

    sent = asyncio.run(scenario())
    assert sent[0] == wire.encode(wire.StatusMessage(1, 2, 0))  # queued last, sent first
    batches = [wire.decode_message(p) for p in sent[1:]]
    assert all(isinstance(b, wire.TxsMessage) and len(b.transactions) <= wire.MAX_GOSSIP_TRANSACTIONS for b in batches)
    assert batches[0].transactions[0] == b"\x51" + (0).to_bytes(4, "big")  # gossip keeps its order


def test_a_vote_read_after_gossip_is_handled_before_the_gossip_is_admitted():
    """Inbound: a gossip frame waits in the GossipInbox for its own task, so a consensus message
    the same peer sent after it reaches the handler at once (no head-of-line blocking)."""

    async def scenario() -> list[str]:
        handled: list[str] = []
        release = asyncio.Event()

        async def handler(peer: str, message: wire.Message) -> None:
            if isinstance(message, wire.TxsMessage):
                await release.wait()  # admitting a large frame takes long
            handled.append(type(message).__name__)

        inbox = GossipInbox(limit=10)
        admitter = asyncio.ensure_future(inbox.drain_forever(handler))
        await inbox.put("peer", wire.TxsMessage((b"\x51\x01",) * 4))
        await inbox.put("peer", wire.TxsMessage((b"\x51\x02",) * 4))
        await asyncio.sleep(0)
        await handler("peer", wire.StatusMessage(1, 2, 0))  # what _on_frame does for a non-gossip message
        assert inbox.count == 4  # the second frame still waits
        full = asyncio.ensure_future(inbox.put("peer", wire.TxsMessage((b"\x51\x03",) * 8)))
        await asyncio.sleep(0)
        assert not full.done()  # over the limit: reading waits for room (bounded memory)
        release.set()
        await asyncio.wait_for(full, 1)
        while inbox.waiting:
            await asyncio.sleep(0)
        await asyncio.sleep(0)
        admitter.cancel()
        return handled

    handled = asyncio.run(scenario())
    assert handled == ["StatusMessage", "TxsMessage", "TxsMessage", "TxsMessage"]
