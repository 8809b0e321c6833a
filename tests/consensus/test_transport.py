"""Mutual TLS 1.3 between pinned validators over real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import os

import pytest

from consensus.transport import MAX_FRAME_BYTES, PeerNetwork, make_node_certificate

CHAIN_ID = 1337


def nodes(count: int):
    keys = [os.urandom(32) for _ in range(count)]
    made = [make_node_certificate(key, CHAIN_ID) for key in keys]
    return keys, made


def network(index: int, made, allowed: list[int], inbox: list) -> PeerNetwork:
    own, _ = made[index]
    peers = {made[i][0].address: made[i][1] for i in allowed}
    certificates = {made[i][0].address: made[i][0].certificate_pem for i in allowed}

    def deliver(peer: str, payload: bytes) -> None:
        inbox.append((peer, payload))

    return PeerNetwork(CHAIN_ID, own, peers, certificates, deliver)


async def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.02)


async def connected_pair(made, inbox_a: list, inbox_b: list) -> tuple[PeerNetwork, PeerNetwork, int]:
    """Nodes 0 and 1 trusting each other, 0 dialled into 1's listener; returns (a, b, b's port)."""
    a = network(0, made, [1], inbox_a)
    b = network(1, made, [0], inbox_b)
    port_b = await b.listen()
    a.connect(made[1][0].address, "127.0.0.1", port_b)
    await wait_for(lambda: made[1][0].address in a.writers and made[0][0].address in b.writers)
    return a, b, port_b


def test_pinned_peers_exchange_frames_both_ways_and_reconnect():
    async def scenario() -> None:
        _, made = nodes(2)
        inbox_a: list = []
        inbox_b: list = []
        a, b, port_b = await connected_pair(made, inbox_a, inbox_b)
        assert await a.send(made[1][0].address, b"prevote")
        assert await b.send(made[0][0].address, b"x" * 100_000)
        await wait_for(lambda: inbox_b and inbox_a)
        assert inbox_b == [(made[0][0].address, b"prevote")]
        assert inbox_a == [(made[1][0].address, b"x" * 100_000)]
        writer = b.writers[made[0][0].address]
        ssl_object = writer.get_extra_info("ssl_object")
        assert ssl_object.version() == "TLSv1.3"

        await b.close()  # b goes away; a keeps dialling with backoff
        inbox_b2: list = []
        b2 = network(1, made, [0], inbox_b2)
        await b2.listen(port=port_b)
        await wait_for(lambda: made[1][0].address in a.writers and not a.writers[made[1][0].address].is_closing())
        await wait_for(lambda: made[0][0].address in b2.writers)
        assert await a.send(made[1][0].address, b"after restart")
        await wait_for(lambda: inbox_b2)
        assert inbox_b2 == [(made[0][0].address, b"after restart")]
        await a.close()
        await b2.close()

    asyncio.run(scenario())


def test_unknown_peers_are_refused_by_the_handshake():
    async def scenario() -> None:
        _, made = nodes(3)
        inbox_b: list = []
        b = network(1, made, [0], inbox_b)  # trusts only node 0
        port_b = await b.listen()
        stranger = network(2, made, [1], [])  # node 2 trusts b, but b does not trust node 2
        stranger.connect(made[1][0].address, "127.0.0.1", port_b)
        for _ in range(20):  # TLS 1.3: the client may think it is in until b's alert arrives
            with contextlib.suppress(ConnectionError, OSError):
                await stranger.send(made[1][0].address, b"let me in")
            await asyncio.sleep(0.05)
        assert made[2][0].address not in b.writers and not inbox_b
        await stranger.close()
        await b.close()

    asyncio.run(scenario())


def test_oversized_frame_closes_the_connection():
    async def scenario() -> None:
        _, made = nodes(2)
        inbox_b: list = []
        a = network(0, made, [1], [])
        b = network(1, made, [0], inbox_b)
        port_b = await b.listen()
        a.connect(made[1][0].address, "127.0.0.1", port_b)
        await wait_for(lambda: made[0][0].address in b.writers)
        first = b.writers[made[0][0].address]
        writer = a.writers[made[1][0].address]
        writer.write((MAX_FRAME_BYTES + 1).to_bytes(4, "big"))
        await writer.drain()
        await wait_for(lambda: first.is_closing())  # b hung up without reading a payload
        assert inbox_b == []
        await wait_for(lambda: b.writers.get(made[0][0].address) not in (None, first))  # a dialled again
        await a.close()
        await b.close()

    asyncio.run(scenario())


def test_a_binding_not_signed_by_the_validator_key_is_refused():
    _, made = nodes(2)
    own, _ = made[0]
    _, foreign_binding = made[1]
    with pytest.raises(ValueError, match="not signed by its validator key"):
        PeerNetwork(CHAIN_ID, own, {own.address: foreign_binding}, {own.address: own.certificate_pem}, print)
    with pytest.raises(ValueError, match="does not match its binding"):
        PeerNetwork(CHAIN_ID, own, {made[1][0].address: made[1][1]}, {made[1][0].address: own.certificate_pem}, print)
    assert not made[1][1].verify(CHAIN_ID + 1)  # a binding is for one chain


def test_a_node_that_trusts_nobody_yet_starts_and_accepts_a_peer_trusted_later():
    async def scenario() -> None:
        _, made = nodes(2)
        inbox_a: list = []
        inbox_b: list = []
        a = network(0, made, [], inbox_a)  # no peers yet: e.g. one validator, peers registered later
        b = network(1, made, [0], inbox_b)
        port_a = await a.listen()
        b.connect(made[0][0].address, "127.0.0.1", port_a)
        await asyncio.sleep(0.5)
        assert made[1][0].address not in a.writers and not inbox_a  # nobody trusted: the handshake fails
        a.trust(made[1][0].address, made[1][0].certificate_pem, made[1][1])
        await wait_for(lambda: made[0][0].address in b.writers and made[1][0].address in a.writers, timeout=20)
        assert await b.send(made[0][0].address, b"registered")
        await wait_for(lambda: inbox_a)
        assert inbox_a == [(made[1][0].address, b"registered")]
        await a.close()
        await b.close()

    asyncio.run(scenario())


def test_a_node_whose_tls_key_is_encrypted_on_disk_connects():
    from dataclasses import replace

    from cryptography.hazmat.primitives import serialization

    async def scenario() -> None:
        _, made = nodes(2)
        own, binding = made[0]
        key = serialization.load_pem_private_key(own.key_pem, password=None)
        encrypted = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.BestAvailableEncryption(b"a long password"))  # fmt: skip
        made[0] = (replace(own, key_pem=encrypted, key_password=b"a long password"), binding)
        inbox_a: list = []
        inbox_b: list = []
        a, b, _ = await connected_pair(made, inbox_a, inbox_b)
        assert await a.send(made[1][0].address, b"sealed key")
        await wait_for(lambda: inbox_b)
        assert inbox_b == [(made[0][0].address, b"sealed key")]
        await a.close()
        await b.close()

    asyncio.run(scenario())


def test_each_side_is_told_when_a_link_to_a_peer_comes_up_again():
    async def scenario() -> None:
        _, made = nodes(2)
        a, b = network(0, made, [1], []), network(1, made, [0], [])
        told_a: list[str] = []
        told_b: list[str] = []
        a.on_connected, b.on_connected = told_a.append, told_b.append
        port_b = await b.listen()
        a.connect(made[1][0].address, "127.0.0.1", port_b)
        await wait_for(lambda: told_a and told_b)
        assert (told_a, told_b) == ([made[1][0].address], [made[0][0].address])
        await b.close()
        b2 = network(1, made, [0], [])
        told_b2: list[str] = []
        b2.on_connected = told_b2.append
        await b2.listen(port=port_b)
        await wait_for(lambda: len(told_a) == 2 and told_b2)  # the redial is a new link: told again
        assert told_a == [made[1][0].address] * 2
        await a.close()
        await b2.close()

    asyncio.run(scenario())
