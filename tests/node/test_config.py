"""node.toml, QENEX_* environment overrides and flags: defaults documented, precedence, errors naming the key."""

from __future__ import annotations

import json
import tomllib

import pytest
from support.nodes import run_cli, start_node

from node.config import CONFIG_FILE, OPTIONS, ConfigError, default_toml, load_settings


def test_print_default_documents_every_option_and_reads_back_as_the_defaults(tmp_path):
    result = run_cli("node", "config", "--print-default")
    assert result.returncode == 0
    for option in OPTIONS:
        assert option.env in result.stdout
    document = tomllib.loads(result.stdout)
    assert {f"{s}.{k}" for s, table in document.items() for k in table} == {o.name for o in OPTIONS}
    (tmp_path / CONFIG_FILE).write_text(result.stdout)
    settings = load_settings(tmp_path, environ={})
    assert settings.values == {o.name: o.default for o in OPTIONS}
    assert set(settings.sources.values()) == {str(tmp_path / CONFIG_FILE)}


def test_flags_beat_environment_beat_node_toml_beat_node_json(tmp_path):
    (tmp_path / "node.json").write_text(json.dumps({"p2p": {"host": "127.0.0.1", "port": 1}, "peers": [],
                                                    "rpc": {"host": "10.0.0.1", "port": 7000}}))  # fmt: skip
    settings = load_settings(tmp_path, environ={})
    assert (settings["rpc.host"], settings["rpc.port"]) == ("10.0.0.1", 7000)
    (tmp_path / CONFIG_FILE).write_text(
        '[rpc]\nport = 7001\n[log]\nlevel = "warning"\nmodules = {"qenex.rpc" = "debug"}\n'
    )
    settings = load_settings(tmp_path, environ={})
    assert (settings["rpc.host"], settings["rpc.port"], settings["log.level"]) == ("10.0.0.1", 7001, "warning")
    assert settings["log.modules"] == {"qenex.rpc": "debug"}
    environ = {"QENEX_RPC_PORT": "7002", "QENEX_LOG_MODULES": "qenex.consensus=debug, qenex.rpc=error"}
    settings = load_settings(tmp_path, environ=environ)
    assert settings["rpc.port"] == 7002 and settings.sources["rpc.port"] == "environment"
    assert settings["log.modules"] == {"qenex.consensus": "debug", "qenex.rpc": "error"}
    settings = load_settings(tmp_path, {"rpc.port": 7003, "log.level": None}, environ=environ)
    assert settings["rpc.port"] == 7003 and settings["log.level"] == "warning"


@pytest.mark.parametrize(
    ("toml", "environ", "message"),
    [
        ('[rpc]\nport = "8545"\n', {}, "rpc.port must be an integer in 0..65535, not '8545'"),
        ("[rpc]\nport = 70000\n", {}, "rpc.port must be an integer in 0..65535, not 70000"),
        ("[rpc]\nprot = 1\n", {}, "unknown key rpc.prot (known in [rpc]: host, port, workers, public_methods"),
        ("[p2p]\nport = 1\n", {}, "unknown section [p2p]"),
        ('[log]\nmodules = {"qenex.rpc" = "chatty"}\n', {}, "log.modules qenex.rpc must be one of"),
        ("[log\n", {}, "not valid TOML"),
        ("", {"QENEX_MEMPOOL_MAX_TRANSACTIONS": "many"}, "QENEX_MEMPOOL_MAX_TRANSACTIONS (mempool.max_transactions)"),
        ("", {"QENEX_SIGNATURES_WORKERS": "99"}, '(signatures.workers) must be "auto" or an integer in 0..64, not 99'),
        ("", {"QENEX_LOG_MODULES": "qenex.rpc"}, "write module=level pairs"),
    ],
)
def test_a_bad_setting_is_refused_naming_its_key_and_source(tmp_path, toml, environ, message):
    (tmp_path / CONFIG_FILE).write_text(toml)
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path, environ=environ)
    assert message in str(caught.value)


def test_the_node_refuses_to_start_on_a_bad_setting_and_says_which(node_home):
    home, _ = node_home
    (home / CONFIG_FILE).write_text('[log]\nformat = "xml"\n')
    result = run_cli("node", "run", "--home", str(home), "--rpc-port", "0", timeout=60)
    assert result.returncode == 1
    assert "log.format must be one of auto, json, text, not 'xml'" in result.stderr


def test_a_running_node_takes_its_log_levels_per_module_from_node_toml(node_home):
    home, _ = node_home
    (home / CONFIG_FILE).write_text('[log]\nlevel = "warning"\nformat = "json"\nmodules = {"qenex.rpc" = "debug"}\n')
    node = start_node(home)
    try:
        with pytest.raises(Exception, match="does not exist"):
            node.rpc.call("qenex_noSuchMethod")
    finally:
        node.stop()
    events = [json.loads(line) for line in node.log().splitlines() if line.startswith("{")]
    assert any(e["event"] == "rpc_error" and e["module"] == "qenex.rpc" for e in events)  # debug, from qenex.rpc
    assert not any(e["event"] == "node_started" for e in events)  # info, from qenex.node: below warning


def test_check_prints_the_effective_settings_with_their_sources(node_home):
    home, _ = node_home
    (home / CONFIG_FILE).write_text("[mempool]\nmax_transactions = 10\n")
    result = run_cli("node", "config", "--home", str(home))
    assert result.returncode == 0
    assert f"max_transactions = 10  # {home / CONFIG_FILE}" in result.stdout
    assert 'level = "info"  # default' in result.stdout
    assert default_toml().startswith("# QENEX node settings")
