"""Homes made for nodes that share one machine carry a signature-worker count sized for it."""

from __future__ import annotations

from pathlib import Path

from node.cluster import prepare, share_host
from node.config import CONFIG_FILE, load_settings
from node.sigpool import default_workers


def test_new_homes_share_the_cores_and_a_restarted_node_reads_the_same(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    nodes = prepare(tmp_path / "net", validators=4, full_nodes=0, accounts=2, block_interval_ms=200,
                    rpc_base_port=0, p2p_base_port=0)  # fmt: skip
    for node in nodes:
        settings = load_settings(Path(node["home"]), environ={})
        assert settings["signatures.workers"] == default_workers(4) == 0
        assert settings.sources["signatures.workers"].endswith(CONFIG_FILE)


def test_an_operators_own_node_toml_is_kept(tmp_path: Path) -> None:
    home, other = tmp_path / "validator-0", tmp_path / "validator-1"
    home.mkdir()
    other.mkdir()
    (home / CONFIG_FILE).write_text("[signatures]\nworkers = 3\n")
    share_host([{"home": str(home)}, {"home": str(other)}])
    assert load_settings(home, environ={})["signatures.workers"] == 3
    assert load_settings(other, environ={})["signatures.workers"] == default_workers(2)
