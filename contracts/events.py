"""Decoding the events of the contracts this project ships, for people reading a chain.

Explorers show "Transfer(from, to, value)" rather than topics and hex data; they can, for the
contracts whose ABIs they know. Ours are the ledger tokens (ERC-20 per currency, at the bridge's
addresses) and the committed artifacts (Escrow, Loan, MultiSig, PaymentSplitter, the test token).
An event is matched by its topic 0 (the keccak of its signature) and by how many of its
parameters are indexed, so the same event emitted by any contract (a wallet's own ERC-20
included) decodes too; a log that fits no known event is returned undecoded.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from eth_abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_utils import keccak, to_checksum_address

from contracts.bridge.addresses import currency_of
from contracts.compiler import ARTIFACTS_DIR, STANDARD_INPUT, load_artifact

ERC20_EVENTS = [  # what the ledger tokens emit (contracts/bridge/precompiles.py)
    {"type": "event", "name": "Transfer", "inputs": [
        {"name": "from", "type": "address", "indexed": True}, {"name": "to", "type": "address", "indexed": True},
        {"name": "value", "type": "uint256", "indexed": False}]},
    {"type": "event", "name": "Approval", "inputs": [
        {"name": "owner", "type": "address", "indexed": True}, {"name": "spender", "type": "address", "indexed": True},
        {"name": "value", "type": "uint256", "indexed": False}]},
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class KnownEvent:
    contract: str  # where the ABI comes from ("ERC20" for the token interface)
    name: str
    signature: str  # e.g. "Transfer(address,address,uint256)"
    inputs: tuple[dict, ...]

    @property
    def indexed(self) -> int:
        return sum(1 for i in self.inputs if i.get("indexed"))


def _signature(abi: dict) -> str:
    return f"{abi['name']}({','.join(_type(i) for i in abi['inputs'])})"


def _type(parameter: dict) -> str:
    """The canonical type (tuples spelled out as the ABI specification's signatures need)."""
    if parameter["type"].startswith("tuple"):
        inner = ",".join(_type(c) for c in parameter["components"])
        return f"({inner}){parameter['type'][5:]}"
    return parameter["type"]


@cache
def known_events() -> dict[bytes, tuple[KnownEvent, ...]]:
    """topic 0 -> the known events with that signature (the ERC-20 interface first)."""
    sources = [("ERC20", ERC20_EVENTS)] + [
        (path.stem, load_artifact(path.stem)["abi"])
        for path in sorted(ARTIFACTS_DIR.glob("*.json"))
        if path.name != STANDARD_INPUT
    ]
    table: dict[bytes, list[KnownEvent]] = {}
    for contract, abi in sources:
        for entry in abi:
            if entry.get("type") != "event" or entry.get("anonymous"):
                continue
            event = KnownEvent(contract, entry["name"], _signature(entry), tuple(entry["inputs"]))
            candidates = table.setdefault(keccak(text=event.signature), [])
            if all(c.signature != event.signature or c.indexed != event.indexed for c in candidates):
                candidates.append(event)
    return {topic: tuple(events) for topic, events in table.items()}


def _text(value: object) -> object:
    """JSON-safe and lossless: integers as decimal strings, bytes as 0x hex."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, str) and len(value) == 42 and value.startswith("0x"):
        return to_checksum_address(value)
    if isinstance(value, list | tuple):
        return [_text(v) for v in value]
    return value


def decode_log(address: bytes, topics: list[bytes], data: bytes) -> dict | None:
    """{"event", "signature", "contract", "token", "args"} for a log of a known event, else None."""
    if not topics:
        return None
    for event in known_events().get(topics[0], ()):
        if event.indexed != len(topics) - 1:
            continue
        indexed = [i for i in event.inputs if i.get("indexed")]
        plain = [i for i in event.inputs if not i.get("indexed")]
        try:
            values = {p["name"]: abi_decode([_type(p)], topic)[0] for p, topic in zip(indexed, topics[1:], strict=True)}
            decoded = abi_decode([_type(p) for p in plain], data)
        except (DecodingError, ValueError, OverflowError):
            continue
        values |= {p["name"]: v for p, v in zip(plain, decoded, strict=True)}
        return {
            "event": event.name,
            "signature": event.signature,
            "contract": event.contract,
            "token": currency_of(address),
            "args": {i["name"]: _text(values[i["name"]]) for i in event.inputs},
        }
    return None
