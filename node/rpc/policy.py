"""What the RPC endpoint lets in: method classes, roles per class, and every limit, as one value.

A node answers two kinds of callers on the same port: wallets and explorers reading public chain
data, and operators managing the node. The first must stay easy to reach (public reads are open by
default), the second must never be reachable without a credential. The split is by method name so
that a new `admin_*` / `debug_*` / `txpool_*` method is protected the moment it is registered,
without anyone remembering to list it.

The limits bound what one request or connection may cost the node (TigerBeetle: a limit on
everything). They are settings in node.toml ([rpc]); `RpcPolicy.from_settings` turns the resolved
settings into this value, which NodeConfig carries to the server, WebSocket, filters and logs code.
"""

from __future__ import annotations

import dataclasses
import json
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ledger.authz import ROLES

PUBLIC = "public"
AUTHENTICATED = "authenticated"
AUTHENTICATED_PREFIXES = ("admin_", "debug_", "txpool_")
# Management methods outside those prefixes: they cost the node real work or show its internals.
MANAGEMENT_METHODS = frozenset({"qenex_cacheVerify"})

# A credential signed with the engine-API-style JWT secret stands for the node's own tooling, with the
# roles of rpc.jwt_roles ("operator" by default: whoever can read HOME/jwt.hex runs the node, and
# is not thereby an auditor or a compliance officer). API keys and operator sessions carry one role
# of ledger/authz.py ROLES.
_ROLES_BY_PREFIX: dict[str, frozenset[str]] = {
    "admin_": frozenset({"operator", "governor"}),
    "debug_": frozenset({"operator", "auditor"}),
    "txpool_": frozenset({"operator", "auditor", "validator"}),
    "qenex_cacheVerify": frozenset({"operator"}),
}
assert all(role in ROLES for roles in _ROLES_BY_PREFIX.values() for role in roles)


def method_class(method: str) -> str:
    """PUBLIC or AUTHENTICATED: the class a method belongs to, decided by its name alone."""
    if method.startswith(AUTHENTICATED_PREFIXES) or method in MANAGEMENT_METHODS:
        return AUTHENTICATED
    return PUBLIC


def roles_for(method: str) -> frozenset[str] | None:
    """Roles that may call an authenticated method (None: any authenticated caller)."""
    for prefix, roles in _ROLES_BY_PREFIX.items():
        if method.startswith(prefix):
            return roles
    return None


@dataclass(frozen=True)
class RpcPolicy:
    """The resolved [rpc] security settings. Paths are absolute (resolved against HOME)."""

    public_methods: str = "open"  # "open": anyone may call public methods; "authenticated": nobody
    jwt_secret_file: Path | None = None
    jwt_roles: tuple[str, ...] = ("operator",)
    api_keys_file: Path | None = None
    cors_origins: tuple[str, ...] = ()
    rate_per_s: int = 1000  # requests per second per client address; 0 switches the limiter off
    rate_burst: int = 2000
    max_body_bytes: int = 8 * 1024 * 1024
    max_batch: int = 2000
    max_json_depth: int = 32
    ws_connections_max: int = 1000
    ws_subscriptions_max: int = 100
    filters_max: int = 10_000
    logs_block_range_max: int = 10_000
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None

    def __post_init__(self) -> None:
        assert self.public_methods in ("open", "authenticated"), self.public_methods
        assert self.jwt_roles and all(role in ROLES for role in self.jwt_roles), self.jwt_roles
        assert self.max_body_bytes > 0 and self.max_batch > 0 and self.max_json_depth > 0
        assert (self.tls_cert_file is None) == (self.tls_key_file is None), "TLS needs both certificate and key"

    @property
    def tls(self) -> bool:
        return self.tls_cert_file is not None

    def ssl_context(self) -> ssl.SSLContext | None:
        """The server context for the operator's certificate (TLS 1.2+), or None for plain HTTP."""
        if self.tls_cert_file is None or self.tls_key_file is None:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            context.load_cert_chain(self.tls_cert_file, self.tls_key_file)
        except (OSError, ssl.SSLError) as exc:
            raise OSError(
                f"rpc.tls_cert / rpc.tls_key: cannot load {self.tls_cert_file} with {self.tls_key_file}: {exc}"
            ) from None
        return context

    def to_json(self) -> str:
        """The resolved policy for an RPC worker process, which must enforce exactly the node's."""
        values = dataclasses.asdict(self)
        return json.dumps({k: str(v) if isinstance(v, Path) else v for k, v in values.items()})

    @classmethod
    def from_json(cls, text: str) -> RpcPolicy:
        values = json.loads(text)
        paths = ("jwt_secret_file", "api_keys_file", "tls_cert_file", "tls_key_file")
        values.update({k: None if values[k] is None else Path(values[k]) for k in paths})
        values["cors_origins"] = tuple(values["cors_origins"])
        values["jwt_roles"] = tuple(values["jwt_roles"])
        return cls(**values)

    @classmethod
    def from_settings(cls, values: Mapping[str, object], home: Path) -> RpcPolicy:
        def path(name: str) -> Path | None:
            text = str(values[name])
            return None if not text else (Path(home) / text).resolve()

        cert, key = path("rpc.tls_cert"), path("rpc.tls_key")
        if (cert is None) != (key is None):
            from node.config import ConfigError

            raise ConfigError("rpc.tls_cert and rpc.tls_key must be given together (or neither)")
        origins = tuple(o.strip() for o in str(values["rpc.cors_origins"]).split(",") if o.strip())
        return cls(
            public_methods=str(values["rpc.public_methods"]),
            jwt_secret_file=path("rpc.jwt_secret"),
            jwt_roles=tuple(dict.fromkeys(r.strip() for r in str(values["rpc.jwt_roles"]).split(","))),
            api_keys_file=path("rpc.api_keys"),
            cors_origins=origins,
            rate_per_s=int(values["rpc.rate_per_s"]),  # type: ignore[arg-type]
            rate_burst=int(values["rpc.rate_burst"]),  # type: ignore[arg-type]
            max_body_bytes=int(values["rpc.max_body_bytes"]),  # type: ignore[arg-type]
            max_batch=int(values["rpc.max_batch"]),  # type: ignore[arg-type]
            max_json_depth=int(values["rpc.max_json_depth"]),  # type: ignore[arg-type]
            ws_connections_max=int(values["rpc.ws_connections_max"]),  # type: ignore[arg-type]
            ws_subscriptions_max=int(values["rpc.ws_subscriptions_max"]),  # type: ignore[arg-type]
            filters_max=int(values["rpc.filters_max"]),  # type: ignore[arg-type]
            logs_block_range_max=int(values["rpc.logs_block_range_max"]),  # type: ignore[arg-type]
            tls_cert_file=cert,
            tls_key_file=key,
        )
