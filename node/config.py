"""A node's settings: HOME/node.toml, QENEX_* environment overrides, command-line flags.

One documented file per node is what an operator edits, reviews and keeps in version control; the
environment overrides it where a container platform injects settings (Kubernetes, Docker), and a
flag overrides both for one run. Everything is checked before the node opens its data, and a bad
value is refused with the key and where it came from. Peers stay in node.json (the devnet and
genesis tooling write it); node.json's rpc host/port are still read, below node.toml.

Precedence, highest first: flag > environment > node.toml > node.json > default.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kernel.selector import CHOICES as CACHE_CHOICES
from node.log import FORMATS, LEVELS

CONFIG_FILE = "node.toml"
MAX_CONFIG_BYTES = 64 * 1024


class ConfigError(ValueError):
    """A setting that cannot be used; the message names the key and its source."""


@dataclass(frozen=True)
class Option:
    section: str
    key: str
    default: object
    doc: str
    check: Callable[[object], str | None]  # None if the value is acceptable, else the problem

    @property
    def name(self) -> str:
        return f"{self.section}.{self.key}"

    @property
    def env(self) -> str:
        return f"QENEX_{self.section}_{self.key}".upper()


def _int_in(low: int, high: int) -> Callable[[object], str | None]:
    def check(value: object) -> str | None:
        ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
        return None if ok else f"must be an integer in {low}..{high}"

    return check


def _one_of(choices: tuple[str, ...]) -> Callable[[object], str | None]:
    return lambda value: None if value in choices else f"must be one of {', '.join(choices)}"


def _host(value: object) -> str | None:
    ok = isinstance(value, str) and 0 < len(value) <= 253 and not any(c.isspace() for c in value)
    return None if ok else "must be a host name or IP address"


def _workers(value: object) -> str | None:
    return None if value == "auto" else _int_in(0, 64)(value) and 'must be "auto" or an integer in 0..64'


def _modules(value: object) -> str | None:
    if not isinstance(value, dict):
        return 'must be a table of module = "level"'
    for module, level in value.items():
        if level not in LEVELS:
            return f"{module} must be one of {', '.join(LEVELS)}, not {level!r}"
    return None


def _file_name(value: object) -> str | None:
    ok = isinstance(value, str) and len(value) <= 4096 and "\0" not in value
    return None if ok else "must be a file path relative to HOME (or absolute), or empty"


def _origins(value: object) -> str | None:
    ok = isinstance(value, str) and len(value) <= 4096 and not any(c.isspace() and c != " " for c in value)
    return None if ok else 'must be origins separated by commas, e.g. "https://ops.bank.example", or "*"'


def _roles(value: object) -> str | None:
    from ledger.authz import ROLES

    names = [r.strip() for r in value.split(",")] if isinstance(value, str) else []
    if names and all(name in ROLES for name in names):
        return None
    return f"must be roles separated by commas, each one of {', '.join(ROLES)}"


# RPC security (docs/security.md "RPC security"); node/rpc/policy.py turns them into an RpcPolicy.
RPC_SECURITY_OPTIONS = (
    Option("rpc", "public_methods", "open", "open: public reads need no credential; authenticated: every method does",
           _one_of(("open", "authenticated"))),
    Option("rpc", "jwt_secret", "jwt.hex", "HS256 secret file (`qenex rpc jwt-secret`); absent: JWT auth off",
           _file_name),
    Option("rpc", "jwt_roles", "operator", "roles a JWT signed with jwt_secret stands for, comma-separated (ROLES)",
           _roles),
    Option("rpc", "api_keys", "rpc-api-keys.json", "API keys bound to roles (`qenex rpc api-key add`)", _file_name),
    Option("rpc", "cors_origins", "", 'origins browsers may call from, comma-separated, or "*"; empty: none',
           _origins),
    Option("rpc", "rate_per_s", 1000, "requests per second per client address (token bucket); 0: no limit",
           _int_in(0, 10**6)),
    Option("rpc", "rate_burst", 2000, "requests a client may send at once before the rate applies", _int_in(1, 10**7)),
    Option("rpc", "max_body_bytes", 8 * 1024 * 1024, "largest request body / WebSocket message",
           _int_in(1024, 64 * 1024 * 1024)),
    Option("rpc", "max_batch", 2000, "calls in one batch at most", _int_in(1, 100_000)),
    Option("rpc", "max_json_depth", 32, "JSON nesting depth at most", _int_in(4, 256)),
    Option("rpc", "ws_connections_max", 1000, "open WebSocket connections at most", _int_in(1, 100_000)),
    Option("rpc", "ws_subscriptions_max", 100, "eth_subscribe subscriptions per connection", _int_in(1, 10_000)),
    Option("rpc", "filters_max", 10_000, "installed eth_newFilter/eth_newBlockFilter filters", _int_in(1, 10**6)),
    Option("rpc", "logs_block_range_max", 10_000, "blocks one eth_getLogs may span", _int_in(1, 10**7)),
    Option("rpc", "tls_cert", "", "PEM certificate (chain) for HTTPS/WSS; empty: plain HTTP", _file_name),
    Option("rpc", "tls_key", "", "PEM private key of tls_cert (mode 0600)", _file_name),
)  # fmt: skip

OPTIONS = (
    Option("rpc", "host", "127.0.0.1", "listen address of JSON-RPC, the explorer, /metrics, /health, /ready", _host),
    Option("rpc", "port", 8545, "listen port (0 picks a free one)", _int_in(0, 65535)),
    Option("rpc", "workers", 0, "read-only JSON-RPC worker processes (docs/kernel.md)", _int_in(0, 64)),
    *RPC_SECURITY_OPTIONS,
    Option("cache", "backend", "auto", f"balance-cache backend ({', '.join(CACHE_CHOICES)})", _one_of(CACHE_CHOICES)),
    Option("mempool", "max_transactions", 50_000, "transactions waiting at most; more are refused", _int_in(1, 10**7)),
    Option("signatures", "workers", "auto", 'processes recovering batch signatures; "auto": one per spare core',
           _workers),
    Option("log", "level", "info", f"level of every module not listed in [log.modules] ({', '.join(LEVELS)})",
           _one_of(LEVELS)),
    Option("log", "format", "auto", "auto: text at a terminal, JSON lines otherwise; or json, text", _one_of(FORMATS)),
    Option("log", "modules", {}, 'per-module levels, e.g. "qenex.consensus" = "debug" (env: a=debug,b=warning)',
           _modules),
)  # fmt: skip
_BY_NAME = {o.name: o for o in OPTIONS}


@dataclass(frozen=True)
class Settings:
    values: dict[str, object]
    sources: dict[str, str] = field(default_factory=dict)  # option name -> where its value came from

    def __getitem__(self, name: str) -> object:
        return self.values[name]

    def node_config(self, home: Path):  # noqa: ANN201 - node.service.NodeConfig (imported late: heavy)
        from node.rpc.policy import RpcPolicy
        from node.service import NodeConfig

        workers = self.values["signatures.workers"]
        return NodeConfig(
            Path(home),
            rpc_host=self.values["rpc.host"],
            rpc_port=self.values["rpc.port"],
            mempool_max=self.values["mempool.max_transactions"],
            verify_workers=None if workers == "auto" else workers,
            cache=self.values["cache.backend"],
            rpc_workers=self.values["rpc.workers"],
            rpc_policy=RpcPolicy.from_settings(self.values, Path(home)),
        )

    def to_toml(self) -> str:
        """The effective settings, each with a comment saying where it came from."""
        lines: list[str] = []
        for section in dict.fromkeys(o.section for o in OPTIONS):
            lines.append(f"[{section}]")
            for option in (o for o in OPTIONS if o.section == section):
                lines.append(f"{option.key} = {_toml_value(self.values[option.name])}  # {self.sources[option.name]}")
            lines.append("")
        return "\n".join(lines)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_value(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def default_toml() -> str:
    """Every option with its default and what it does: `qenex node config --print-default`."""
    lines = [f"# QENEX node settings: HOME/{CONFIG_FILE}. Environment variables override this file",
             "# (QENEX_<SECTION>_<KEY>, e.g. QENEX_RPC_PORT=8546); command-line flags override both.",
             "# Peers and P2P addresses are in node.json.", ""]  # fmt: skip
    for section in dict.fromkeys(o.section for o in OPTIONS):
        lines.append(f"[{section}]")
        for option in (o for o in OPTIONS if o.section == section):
            lines.append(f"# {option.doc} (env {option.env})")
            lines.append(f"{option.key} = {_toml_value(option.default)}")
        lines.append("")
    return "\n".join(lines)


def _read_file(path: Path) -> dict[str, object]:
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_CONFIG_BYTES} bytes; is it the right file?")
    try:
        document = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    found: dict[str, object] = {}
    for section, table in document.items():
        keys = [o.key for o in OPTIONS if o.section == section]
        if not keys:
            known = ", ".join(dict.fromkeys(o.section for o in OPTIONS))
            raise ConfigError(f"{path}: unknown section [{section}] (known: {known})")
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: {section} must be a [{section}] table")
        for key, value in table.items():
            if key not in keys:
                raise ConfigError(f"{path}: unknown key {section}.{key} (known in [{section}]: {', '.join(keys)})")
            found[f"{section}.{key}"] = value
    return found


def _from_env(environ: Mapping[str, str]) -> dict[str, object]:
    found: dict[str, object] = {}
    for option in OPTIONS:
        text = environ.get(option.env)
        if text is None:
            continue
        default = option.default
        if isinstance(default, dict):
            try:
                found[option.name] = dict(pair.split("=", 1) for pair in text.split(",") if pair.strip())
            except ValueError:
                problem = "write module=level pairs separated by commas"
                raise ConfigError(f"{option.env} ({option.name}): {problem}") from None
            found[option.name] = {k.strip(): v.strip() for k, v in found[option.name].items()}
        elif isinstance(default, int) or (option.name == "signatures.workers" and text != "auto"):
            try:
                found[option.name] = int(text)
            except ValueError:
                raise ConfigError(f"{option.env} ({option.name}): {text!r} is not an integer") from None
        else:
            found[option.name] = text
    return found


def load_settings(
    home: Path, flags: Mapping[str, object] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Resolve every option; `flags` maps option names to command-line values (None: not given)."""
    home = Path(home)
    environ = os.environ if environ is None else environ
    layers: list[tuple[str, dict[str, object]]] = []
    legacy = _node_json_rpc(home)
    if legacy:
        layers.append(("node.json", legacy))
    path = home / CONFIG_FILE
    if path.exists():
        layers.append((str(path), _read_file(path)))
    layers.append(("environment", _from_env(environ)))
    layers.append(("command line", {k: v for k, v in (flags or {}).items() if v is not None}))
    values = {o.name: o.default for o in OPTIONS}
    sources = {o.name: "default" for o in OPTIONS}
    for source, found in layers:
        for name, value in found.items():
            option = _BY_NAME[name]
            problem = option.check(value)
            if problem:
                where = f"{option.env} ({name})" if source == "environment" else f"{source}: {name}"
                raise ConfigError(f"{where} {problem}, not {value!r}")
            values[name], sources[name] = value, source
    return Settings(values, sources)


def _node_json_rpc(home: Path) -> dict[str, object]:
    """rpc.host/rpc.port from node.json (written by the devnet), if it has them."""
    from node.p2p.network import load_p2p_config

    p2p = load_p2p_config(home)
    if p2p is None:
        return {}
    found: dict[str, object] = {}
    if p2p.rpc_host:
        found["rpc.host"] = p2p.rpc_host
    if p2p.rpc_port is not None:
        found["rpc.port"] = p2p.rpc_port
    return found
