"""docs/grafana/qenex-dashboard.json graphs what a running node exports, and all of it."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana" / "qenex-dashboard.json"
SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum", "_created"), "gauge": ("",)}


def exported_names(url: str) -> tuple[set[str], set[str]]:
    """(series names a query may use, metric families) from a node's /metrics."""
    with urllib.request.urlopen(url + "/metrics", timeout=10) as response:
        text = response.read().decode()
    names, families = set(), set()
    for line in text.splitlines():
        match = re.match(r"# TYPE (\w+) (\w+)", line)
        if match:
            family, kind = match.groups()
            if family.endswith("_created"):
                continue  # the client's creation timestamps: not something to graph
            family = family.removesuffix("_total") if kind == "counter" else family
            families.add(family)
            names.update(family + suffix for suffix in SUFFIXES.get(kind, ("",)))
    return names, families


def referenced(dashboard: dict) -> set[str]:
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    assert exprs, "the dashboard has no queries"
    return {name for expr in exprs for name in re.findall(r"\bqenex_\w+", expr)}


def test_every_metric_the_dashboard_queries_exists_on_a_running_node_and_every_family_is_graphed(running_node):
    node, _ = running_node
    dashboard = json.loads(DASHBOARD.read_text())
    names, families = exported_names(node.url)
    used = referenced(dashboard)
    assert used - names == set(), "queried but not exported"
    graphed = {family for family in families if any(name.startswith(family) for name in used)}
    assert {f for f in families if f.startswith("qenex_")} - graphed == set(), "exported but not on the dashboard"
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
