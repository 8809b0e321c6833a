"""Benchmarks run through the `qenex bench` command.

`bench.ledger_bench` (`qenex bench ledger`) starts a real node on a throwaway dev chain, sends
pre-signed ledger transfers over JSON-RPC and measures committed transfers per second and the
submit-to-commit latency, next to a same-run anchor: raw secp256k1 public-key recoveries per
second on this machine. docs/benchmarks.md explains the figures and records measured runs.
"""
