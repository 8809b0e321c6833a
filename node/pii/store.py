"""A node's copy of the sealed envelopes: HOME/personal-data/<message hash>.json, 0600 in a 0700 dir.

Each file holds the put request as it was vouched for (node/pii/request.py), so a node relaying it
to a peer relays exactly what the gateway signed. Erasure overwrites the file in place with random
bytes (so no old block of the file keeps the wrapped keys or ciphertexts), then replaces it with a
tombstone naming only the message hash and the erasing block's height.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

from node.pii.request import REQUEST_BYTES_MAX, PutRequest, parse_request_bytes
from node.secret_files import private_dir, write_private

DIRECTORY = "personal-data"


class Tombstone(Exception):
    """The envelope was erased; `height` is the block that erased it."""

    def __init__(self, message_hash: bytes, height: int) -> None:
        super().__init__(f"personal data of 0x{message_hash.hex()} was erased in block {height}")
        self.height = height


class EnvelopeStore:
    def __init__(self, home: Path) -> None:
        self.directory = private_dir(Path(home) / DIRECTORY)

    def _path(self, message_hash: bytes) -> Path:
        assert len(message_hash) == 32
        return self.directory / f"{message_hash.hex()}.json"

    def get(self, message_hash: bytes) -> PutRequest | None:
        """The stored request, None when this node has none; Tombstone when it was erased."""
        path = self._path(message_hash)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        assert len(data) <= REQUEST_BYTES_MAX, f"{path} is larger than any request this node accepts"
        value = json.loads(data)
        if "erased" in value:
            raise Tombstone(message_hash, value["erased"])
        request = parse_request_bytes(data)
        assert request.message_hash == message_hash, f"{path} holds another payment's envelope"
        return request

    def put(self, request: PutRequest) -> bool:
        """Store a request; False if this node already holds it (or its tombstone)."""
        path = self._path(request.message_hash)
        if path.exists():
            return False
        write_private(path, request.canonical())
        return True

    def shred(self, message_hash: bytes, height: int) -> bool:
        """Crypto-shredding; True if there was an envelope to shred. A tombstone is left either way."""
        path = self._path(message_hash)
        shredded = False
        if path.exists() and b'"erased"' not in path.read_bytes()[:200]:
            size = path.stat().st_size
            with open(path, "r+b") as handle:
                handle.write(os.urandom(size))
                handle.flush()
                os.fsync(handle.fileno())
            shredded = True
        write_private(path, json.dumps({"message_hash": message_hash.hex(), "erased": height}).encode())
        return shredded

    def hashes(self) -> Iterator[bytes]:
        for path in self.directory.glob("*.json"):
            try:
                yield bytes.fromhex(path.stem)
            except ValueError:
                continue
