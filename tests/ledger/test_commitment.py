"""The bucket tree state root: every leaf change moves the root, and proofs check one leaf."""

from __future__ import annotations

import hashlib
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.commitment import (
    BUCKET_BITS,
    BUCKET_COUNT,
    EMPTY_BUCKET,
    BucketTree,
    LeafProof,
    apply_leaf_changes,
    bucket_hash,
    bucket_of,
    leaf_hash,
    node_hash,
    verify_leaf_proof,
)

_EMPTY_TREE = BucketTree()


def empty_tree() -> BucketTree:
    """A fresh empty tree without rehashing 65535 nodes for every test."""
    tree = BucketTree.__new__(BucketTree)
    tree.levels = [list(level) for level in _EMPTY_TREE.levels]
    return tree


class State:
    """A tree plus its leaves, persisted the way the store persists them."""

    def __init__(self) -> None:
        self.tree = empty_tree()
        self.buckets: dict[int, dict[bytes, bytes]] = {}

    def read_bucket(self, index: int) -> dict[bytes, bytes]:
        return dict(self.buckets.get(index, {}))  # the caller mutates what it gets

    def apply(self, changes: dict[bytes, bytes | None]) -> bytes:
        changed = apply_leaf_changes(self.tree, changes, self.read_bucket)
        for index, leaf_changes in changed.items():
            bucket = self.buckets.setdefault(index, {})
            for key, hashed in leaf_changes.items():
                if hashed is None:
                    bucket.pop(key, None)
                else:
                    bucket[key] = hashed
        return self.tree.root

    def proof(self, key: bytes) -> LeafProof:
        index = bucket_of(key)
        return LeafProof(key=key, bucket=index, leaves=self.read_bucket(index), siblings=self.tree.path(index))


def colliding_keys() -> tuple[bytes, bytes]:
    """Two keys in the same bucket (a birthday search over a few hundred keys)."""
    seen: dict[int, bytes] = {}
    for n in itertools.count():
        key = b"k" + n.to_bytes(4, "big")
        index = bucket_of(key)
        if index in seen:
            return seen[index], key
        seen[index] = key
    raise AssertionError("unreachable")


def test_empty_tree_root_is_the_hash_of_empty_buckets():
    level = EMPTY_BUCKET
    for _ in range(BUCKET_BITS):
        level = node_hash(level, level)
    assert _EMPTY_TREE.root == level
    assert len(_EMPTY_TREE.levels) == BUCKET_BITS + 1


def test_tree_needs_every_bucket():
    with pytest.raises(ValueError):
        BucketTree([EMPTY_BUCKET] * (BUCKET_COUNT - 1))


def test_bucket_of_uses_the_first_two_hash_bytes():
    assert bucket_of(b"abc") == int.from_bytes(hashlib.sha256(b"abc").digest()[:2], "big")


def test_every_leaf_change_moves_the_root():
    state = State()
    roots = [state.tree.root]
    for changes in (
        {b"a1": b"one"},
        {b"a2": b"two"},
        {b"a1": b"uno"},  # update
        {b"a1": b""},  # an empty value is still a value
        {b"a2": None},  # delete
        {b"a1": None},  # delete the last leaf: back to the empty root
    ):
        roots.append(state.apply(changes))
    assert len(set(roots[:-1])) == len(roots) - 1
    assert roots[-1] == roots[0]


def test_incremental_rehash_equals_a_full_rebuild():
    state = State()
    state.apply({bytes([n]) * 3: bytes([n]) for n in range(50)})
    state.apply({bytes([n]) * 3: None for n in range(0, 50, 3)})
    assert BucketTree(state.tree.levels[0]).root == state.tree.root


def test_bucket_hash_ignores_insertion_order():
    leaves = {b"b": leaf_hash(b"b", b"2"), b"a": leaf_hash(b"a", b"1"), b"c": leaf_hash(b"c", b"3")}
    assert bucket_hash(leaves) == bucket_hash(dict(sorted(leaves.items())))
    first, second = colliding_keys()
    one, two = State(), State()
    one.apply({first: b"1"})
    one.apply({second: b"2"})
    two.apply({second: b"2"})
    two.apply({first: b"1"})
    assert one.tree.root == two.tree.root


def test_leaf_hash_separates_key_and_value():
    assert leaf_hash(b"ab", b"c") != leaf_hash(b"a", b"bc")
    assert bucket_hash({}) == EMPTY_BUCKET


def test_same_state_same_root_whatever_the_history():
    one, two = State(), State()
    one.apply({b"x": b"1", b"y": b"2", b"z": b"3"})
    two.apply({b"z": b"9"})
    two.apply({b"y": b"2", b"w": b"0"})
    two.apply({b"x": b"1", b"z": b"3", b"w": None})
    assert one.tree.root == two.tree.root


def test_proof_of_a_present_leaf():
    state = State()
    root = state.apply({b"acct:alice": b"100", b"acct:bob": b"5"})
    proof = state.proof(b"acct:alice")
    assert verify_leaf_proof(root, proof, b"100")
    assert not verify_leaf_proof(root, proof, b"101")  # wrong value
    assert not verify_leaf_proof(root, proof, None)  # it is not absent
    assert not verify_leaf_proof(state.apply({b"acct:bob": b"6"}), proof, b"100")  # stale against a new root


def test_proof_of_an_absent_leaf():
    state = State()
    root = state.apply({b"acct:alice": b"100"})
    proof = state.proof(b"acct:carol")
    assert verify_leaf_proof(root, proof, None)
    assert not verify_leaf_proof(root, proof, b"anything")


def test_proofs_in_a_shared_bucket():
    first, second = colliding_keys()
    state = State()
    root = state.apply({first: b"1", second: b"2"})
    assert len(state.read_bucket(bucket_of(first))) == 2
    assert verify_leaf_proof(root, state.proof(first), b"1")
    assert verify_leaf_proof(root, state.proof(second), b"2")
    assert not verify_leaf_proof(root, state.proof(first), b"2")
    root = state.apply({second: None})
    assert verify_leaf_proof(root, state.proof(second), None)
    assert verify_leaf_proof(root, state.proof(first), b"1")


def test_tampered_proofs_fail():
    state = State()
    root = state.apply({b"k": b"v", b"other": b"w"})
    proof = state.proof(b"k")
    assert verify_leaf_proof(root, proof, b"v")
    bad_sibling = list(proof.siblings)
    bad_sibling[5] = bytes(32) if bad_sibling[5] != bytes(32) else b"\x01" * 32
    forged_leaves = {**proof.leaves, b"k": leaf_hash(b"k", b"forged")}
    for forged in (
        LeafProof(proof.key, proof.bucket, proof.leaves, bad_sibling),
        LeafProof(proof.key, proof.bucket, proof.leaves, proof.siblings[:-1]),
        LeafProof(proof.key, proof.bucket ^ 1, proof.leaves, proof.siblings),
        LeafProof(proof.key, proof.bucket, {k: v for k, v in proof.leaves.items() if k != b"k"}, proof.siblings),
    ):
        assert not verify_leaf_proof(root, forged, b"v")
    assert not verify_leaf_proof(root, LeafProof(proof.key, proof.bucket, forged_leaves, proof.siblings), b"forged")
    # Hiding the leaf to claim absence changes the bucket hash, so the root does not match.
    hidden = LeafProof(proof.key, proof.bucket, {k: v for k, v in proof.leaves.items() if k != b"k"}, proof.siblings)
    assert not verify_leaf_proof(root, hidden, None)


KEYS = st.binary(min_size=1, max_size=12)
CHANGES = st.dictionaries(KEYS, st.one_of(st.none(), st.binary(max_size=16)), min_size=1, max_size=12)


@settings(max_examples=40, deadline=None)
@given(st.lists(CHANGES, min_size=1, max_size=5))
def test_incremental_root_equals_a_full_rebuild(batches):
    state = State()
    final: dict[bytes, bytes] = {}
    for changes in batches:
        state.apply(changes)
        for key, value in changes.items():
            if value is None:
                final.pop(key, None)
            else:
                final[key] = value
    # The same final leaves, applied at once to a fresh tree.
    fresh = State()
    fresh.apply(dict(final))
    assert state.tree.root == fresh.tree.root
    for key, value in final.items():
        assert verify_leaf_proof(state.tree.root, state.proof(key), value)
        assert not verify_leaf_proof(state.tree.root, state.proof(key), value + b"!")
    for changes in batches:
        for key in changes:
            if key not in final:
                assert verify_leaf_proof(state.tree.root, state.proof(key), None)
