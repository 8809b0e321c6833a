"""The ledger state root: a fixed-depth Merkle tree over hash buckets of state leaves.

Every validator must agree on the ledger state after each block, and a light client must be
able to check one balance without the whole state. A leaf is one record (an account, a
sender's nonce, an open pending transfer) keyed by a short byte string. Leaves fall into
2^16 buckets by the hash of their key; a bucket's hash covers its leaves in key order; a
binary tree of depth 16 over the buckets gives the root.

Why not Ethereum's hexary Patricia trie: in pure Python it books ~2k updates/s here, too slow
for thousands of transfers per second. This tree costs one SHA-256 per changed leaf, one per
changed bucket (over its ~n/65536 leaves) and 16 per changed bucket path, all in C (hashlib).
A proof is the bucket's leaves plus 16 sibling hashes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

BUCKET_BITS = 16
BUCKET_COUNT = 1 << BUCKET_BITS
EMPTY_BUCKET = bytes(32)

LEAF_PREFIX = b"\x00"
BUCKET_PREFIX = b"\x01"
NODE_PREFIX = b"\x02"


def bucket_of(key: bytes) -> int:
    return int.from_bytes(hashlib.sha256(key).digest()[:2], "big")


def leaf_hash(key: bytes, value: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + len(key).to_bytes(2, "big") + key + value).digest()


def bucket_hash(leaves: Mapping[bytes, bytes]) -> bytes:
    """Hash of a bucket's leaves (key -> leaf hash), in key order; the empty bucket is zeros."""
    if not leaves:
        return EMPTY_BUCKET
    h = hashlib.sha256(BUCKET_PREFIX)
    for key in sorted(leaves):
        h.update(len(key).to_bytes(2, "big") + key + leaves[key])
    return h.digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


class BucketTree:
    """The 16-level binary tree over bucket hashes, kept whole in memory (4 MiB)."""

    def __init__(self, buckets: Iterable[bytes] | None = None) -> None:
        level = list(buckets) if buckets is not None else [EMPTY_BUCKET] * BUCKET_COUNT
        if len(level) != BUCKET_COUNT:
            raise ValueError(f"a bucket tree has {BUCKET_COUNT} buckets, got {len(level)}")
        self.levels: list[list[bytes]] = [level]
        while len(level) > 1:
            level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
            self.levels.append(level)

    @property
    def root(self) -> bytes:
        return self.levels[-1][0]

    def bucket(self, index: int) -> bytes:
        return self.levels[0][index]

    def set_buckets(self, changed: Mapping[int, bytes]) -> None:
        """Replace some bucket hashes and rehash only the paths above them."""
        dirty = set()
        for index, value in changed.items():
            self.levels[0][index] = value
            dirty.add(index >> 1)
        for depth in range(1, len(self.levels)):
            below, here = self.levels[depth - 1], self.levels[depth]
            for index in dirty:
                here[index] = node_hash(below[2 * index], below[2 * index + 1])
            dirty = {index >> 1 for index in dirty}

    def root_with(self, changed: Mapping[int, bytes]) -> bytes:
        """The root the tree would have with some buckets replaced, leaving the tree as it is:
        a proposed block's state root is computed before anyone knows it will be committed."""
        overrides: dict[int, bytes] = dict(changed)
        for depth in range(1, len(self.levels)):
            below = self.levels[depth - 1]
            parents: dict[int, bytes] = {}
            for index in {i >> 1 for i in overrides}:
                left = overrides.get(2 * index, below[2 * index])
                right = overrides.get(2 * index + 1, below[2 * index + 1])
                parents[index] = node_hash(left, right)
            overrides = parents
        return overrides[0] if overrides else self.root

    def path(self, index: int) -> list[bytes]:
        """Sibling hashes from the bucket up to (not including) the root."""
        siblings = []
        for depth in range(len(self.levels) - 1):
            siblings.append(self.levels[depth][index ^ 1])
            index >>= 1
        return siblings


def bucket_changes(
    changes: Mapping[bytes, bytes | None],
    read_bucket: Callable[[int], dict[bytes, bytes]],
) -> tuple[dict[int, dict[bytes, bytes | None]], dict[int, bytes]]:
    """Leaf-hash changes per bucket, and each changed bucket's new hash; nothing is modified."""
    by_bucket: dict[int, dict[bytes, bytes | None]] = {}
    for key, value in changes.items():
        by_bucket.setdefault(bucket_of(key), {})[key] = None if value is None else leaf_hash(key, value)
    new_hashes = {}
    for index, leaf_changes in by_bucket.items():
        leaves = read_bucket(index)
        for key, hashed in leaf_changes.items():
            if hashed is None:
                leaves.pop(key, None)
            else:
                leaves[key] = hashed
        new_hashes[index] = bucket_hash(leaves)
    return by_bucket, new_hashes


def apply_leaf_changes(
    tree: BucketTree,
    changes: Mapping[bytes, bytes | None],
    read_bucket: Callable[[int], dict[bytes, bytes]],
) -> dict[int, dict[bytes, bytes | None]]:
    """Fold leaf changes (key -> new value, None = delete) into the tree.

    Returns the leaf-hash changes per bucket so the caller can persist them in the same
    write batch as the records themselves.
    """
    by_bucket, new_hashes = bucket_changes(changes, read_bucket)
    tree.set_buckets(new_hashes)
    return by_bucket


@dataclass(frozen=True, slots=True)
class LeafProof:
    """Everything a light client needs to check one leaf against a state root."""

    key: bytes
    bucket: int
    leaves: dict[bytes, bytes]  # the bucket's leaves: key -> leaf hash
    siblings: list[bytes]


def verify_leaf_proof(root: bytes, proof: LeafProof, value: bytes | None) -> bool:
    """True if `value` (None: absence) is what the state with this root holds under the key."""
    if bucket_of(proof.key) != proof.bucket or len(proof.siblings) != BUCKET_BITS:
        return False
    present = proof.leaves.get(proof.key)
    if value is None and present is not None:
        return False
    if value is not None and present != leaf_hash(proof.key, value):
        return False
    current, index = bucket_hash(proof.leaves), proof.bucket
    for sibling in proof.siblings:
        current = node_hash(current, sibling) if index % 2 == 0 else node_hash(sibling, current)
        index >>= 1
    return current == root
