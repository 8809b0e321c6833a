"""Prometheus metrics of one node (prometheus-client), served at GET /metrics.

Each node has its own registry rather than the library's global one, so several nodes can
live in one process (tests, simulators) without mixing their figures.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
SIZE_BUCKETS = (0, 1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000)


class NodeMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.height = Gauge("qenex_chain_height", "Height of the last committed block", registry=r)
        self.block_interval = Histogram(
            "qenex_block_interval_seconds",
            "Time between consecutive committed blocks",
            buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
            registry=r,
        )
        self.block_transactions = Histogram(
            "qenex_block_transactions", "Transactions per committed block", buckets=SIZE_BUCKETS, registry=r
        )
        self.block_transfers = Histogram(
            "qenex_block_transfers", "Ledger transfers booked per committed block", buckets=SIZE_BUCKETS, registry=r
        )
        self.commit_seconds = Histogram(
            "qenex_block_commit_seconds",
            "Time to seal and store a block (LevelDB write batch included)",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.failed_receipts = Counter(
            "qenex_receipts_failed_total", "Committed transactions whose transfers were not booked", registry=r
        )
        self.mempool_size = Gauge("qenex_mempool_transactions", "Transactions waiting in the mempool", registry=r)
        self.admitted = Counter("qenex_transactions_admitted_total", "Transactions admitted to the mempool", registry=r)
        self.rejected = Counter(
            "qenex_transactions_rejected_total", "Transactions refused at admission, by rule", ["reason"], registry=r
        )
        self.dropped = Counter(
            "qenex_mempool_dropped_total",
            "Waiting transactions dropped when re-booked, by rule",
            ["reason"],
            registry=r,
        )
        self.rpc_requests = Counter(
            "qenex_rpc_requests_total", "JSON-RPC calls, by method and outcome", ["method", "outcome"], registry=r
        )
        self.rpc_seconds = Histogram(
            "qenex_rpc_request_seconds",
            "JSON-RPC call latency, by method",
            ["method"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )

        self.round = Gauge("qenex_consensus_round", "Consensus round at the current height", registry=r)
        self.consensus_in = Counter(
            "qenex_consensus_messages_received_total", "Consensus messages received, by type", ["type"], registry=r
        )
        self.consensus_out = Counter(
            "qenex_consensus_messages_sent_total", "Consensus messages broadcast, by type", ["type"], registry=r
        )
        self.consensus_dropped = Counter(
            "qenex_consensus_messages_dropped_total",
            "Peer messages dropped without effect (malformed, wrong chain, non-validator, bad signature, ...)",
            ["reason"],
            registry=r,
        )
        self.peers = Gauge("qenex_p2p_peers", "Peers connected", registry=r)
        self.evidence = Counter("qenex_consensus_evidence_total", "Equivocations detected", registry=r)
        self.synced_blocks = Counter("qenex_sync_blocks_total", "Blocks imported from peers by block sync", registry=r)
        self.finality_seconds = Histogram(
            "qenex_consensus_height_seconds",
            "Time from the start of a height's first round to its decision",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )

    def exposition(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
