"""`qenex rpc ...`, `qenex operator ...`, `qenex audit ...`: credentials for the RPC port and the log
that records their use. Files are written in the node's HOME with mode 0600; every change made
here is an audit-log entry too (actor `cli:<user>`), like the node's own logins and admin calls.
"""

from __future__ import annotations

import argparse
import functools
import getpass
import json
import os
import secrets
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from ledger.authz import ROLES
from node.audit import AuditLog, verify_log
from node.operators import OperatorError, OperatorStore, provisioning_uri
from node.rpc.auth import AuthError, hash_api_key, load_api_keys, make_jwt, read_jwt_secret, save_api_keys
from node.secret_files import InsecureSecretFileError, write_private

JWT_SECRET_DEFAULT = "jwt.hex"
API_KEYS_DEFAULT = "rpc-api-keys.json"
LOGIN_REPLY_BYTES_MAX = 64 * 1024


Command = Callable[[argparse.Namespace], int]


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def _refusing_unreadable_secrets(command: Command) -> Command:
    """A secret or key file that is missing, malformed or readable by others ends the command with
    the reason (AuthError / OSError name the file), not a traceback."""

    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except (AuthError, OSError) as exc:
            return _fail(str(exc))

    return run


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return f"cli:uid{os.getuid()}"


def _password(args: argparse.Namespace, confirm: bool) -> str:
    if args.password_file:
        return Path(args.password_file).read_text().rstrip("\n")
    password = getpass.getpass("operator password: ")
    if confirm and getpass.getpass("repeat password: ") != password:
        raise OperatorError("the passwords differ")
    return password


# --- qenex rpc ----------------------------------------------------------------------------------


def cmd_jwt_secret(args: argparse.Namespace) -> int:
    path = Path(args.home) / (args.out or JWT_SECRET_DEFAULT)
    if path.exists() and not args.force:
        return _fail(f"{path} exists; --force replaces it (every client then needs the new secret)")
    write_private(path, (secrets.token_bytes(32).hex() + "\n").encode())
    AuditLog(args.home).append(_actor(), "rpc.jwt_secret", "ok", path=str(path))
    print(path)
    return 0


@_refusing_unreadable_secrets
def cmd_jwt_token(args: argparse.Namespace) -> int:
    path = Path(args.home) / (args.secret or JWT_SECRET_DEFAULT)
    if not path.exists():
        return _fail(f"{path} does not exist: the node creates it at its first start, or run qenex rpc jwt-secret")
    print(make_jwt(read_jwt_secret(path)))
    return 0


@_refusing_unreadable_secrets
def cmd_api_key_add(args: argparse.Namespace) -> int:
    path = Path(args.home) / API_KEYS_DEFAULT
    keys = load_api_keys(path)
    if any(entry["name"] == args.name for entry in keys.values()):
        return _fail(f"an API key named {args.name!r} exists; remove it first")
    key = "qk_" + secrets.token_urlsafe(32)
    keys[hash_api_key(key)] = {"name": args.name, "role": args.role, "sha256": hash_api_key(key)}
    save_api_keys(path, keys)
    AuditLog(args.home).append(_actor(), "rpc.api_key.add", "ok", name=args.name, role=args.role)
    print(key)
    print(f"(shown once; {path} keeps only its SHA-256. Send it as the X-API-Key header.)", file=sys.stderr)
    return 0


@_refusing_unreadable_secrets
def cmd_api_key_list(args: argparse.Namespace) -> int:
    for entry in load_api_keys(Path(args.home) / API_KEYS_DEFAULT).values():
        print(f"{entry['name']}\t{entry['role']}")
    return 0


@_refusing_unreadable_secrets
def cmd_api_key_remove(args: argparse.Namespace) -> int:
    path = Path(args.home) / API_KEYS_DEFAULT
    keys = load_api_keys(path)
    kept = {digest: entry for digest, entry in keys.items() if entry["name"] != args.name}
    if len(kept) == len(keys):
        return _fail(f"no API key named {args.name!r}")
    save_api_keys(path, kept)
    AuditLog(args.home).append(_actor(), "rpc.api_key.remove", "ok", name=args.name)
    return 0


# --- qenex operator -----------------------------------------------------------------------------


def cmd_operator_add(args: argparse.Namespace) -> int:
    try:
        operator = OperatorStore(args.home).add(args.name, args.role, _password(args, confirm=True))
    except (OperatorError, InsecureSecretFileError) as exc:
        return _fail(str(exc))
    AuditLog(args.home).append(_actor(), "operator.add", "ok", operator=args.name, role=args.role)
    print(json.dumps({"operator": operator.name, "role": operator.role, "totp_secret": operator.totp_secret,
                      "totp_uri": provisioning_uri(operator)}, indent=2))  # fmt: skip
    print("Enrol totp_secret (or totp_uri) in an authenticator app now: it is not shown again.", file=sys.stderr)
    return 0


def cmd_operator_list(args: argparse.Namespace) -> int:
    try:
        operators = OperatorStore(args.home).load()
    except (OperatorError, InsecureSecretFileError) as exc:
        return _fail(str(exc))
    for operator in operators.values():
        print(json.dumps(operator.public()))
    return 0


def _operator_change(args: argparse.Namespace, action: str) -> int:
    store = OperatorStore(args.home)
    try:
        if action == "remove":
            store.remove(args.name)
        elif action == "unlock":
            store.unlock(args.name)
        else:
            store.revoke_sessions(args.name)
    except (OperatorError, InsecureSecretFileError) as exc:
        return _fail(str(exc))
    AuditLog(args.home).append(_actor(), f"operator.{action}", "ok", operator=args.name)
    return 0


def _post(url: str, body: dict, token: str | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, json.loads(reply.read(LOGIN_REPLY_BYTES_MAX))
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read(LOGIN_REPLY_BYTES_MAX) or b"{}")


def cmd_operator_login(args: argparse.Namespace) -> int:
    code = args.totp or input("TOTP code: ")
    body = {"operator": args.name, "password": _password(args, confirm=False), "totp": code,
            "lifetime_s": args.lifetime}  # fmt: skip
    status, reply = _post(args.url.rstrip("/") + "/admin/login", body)
    if status != 200:
        return _fail(f"login refused (HTTP {status}): {reply.get('error')}")
    print(reply["token"])
    return 0


def cmd_operator_logout(args: argparse.Namespace) -> int:
    token = args.token or sys.stdin.readline().strip()
    status, reply = _post(args.url.rstrip("/") + "/admin/logout", {}, token)
    if status != 200:
        return _fail(f"logout refused (HTTP {status}): {reply.get('error')}")
    return 0


# --- qenex audit --------------------------------------------------------------------------------


def cmd_audit_verify(args: argparse.Namespace) -> int:
    count, problems = verify_log(Path(args.home))
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print(f"audit log intact: {count} entries")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    rpc = commands.add_parser("rpc", help="credentials for the RPC port (JWT secret, API keys)").add_subparsers(
        dest="subcommand", required=True, metavar="SUBCOMMAND"
    )
    p = rpc.add_parser("jwt-secret", help="create the HS256 secret file (mode 0600) the node checks JWTs with")
    p.add_argument("--home", required=True)
    p.add_argument("--out", help=f"file name in --home (default {JWT_SECRET_DEFAULT}, node.toml rpc.jwt_secret)")
    p.add_argument("--force", action="store_true", help="replace an existing secret")
    p.set_defaults(func=cmd_jwt_secret)
    p = rpc.add_parser("jwt-token", help="print a JWT valid for 60 s (Authorization: Bearer ...)")
    p.add_argument("--home", required=True)
    p.add_argument("--secret", help=f"secret file in --home (default {JWT_SECRET_DEFAULT})")
    p.set_defaults(func=cmd_jwt_token)
    keys = rpc.add_parser("api-key", help="API keys bound to roles").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    p = keys.add_parser("add", help="create a key for one role; prints it once")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--home", required=True)
    p.set_defaults(func=cmd_api_key_add)
    p = keys.add_parser("list", help="names and roles of the keys")
    p.add_argument("--home", required=True)
    p.set_defaults(func=cmd_api_key_list)
    p = keys.add_parser("remove", help="delete a key (takes effect at the node's next request)")
    p.add_argument("name")
    p.add_argument("--home", required=True)
    p.set_defaults(func=cmd_api_key_remove)

    operator = commands.add_parser("operator", help="operator logins: password + TOTP, sessions").add_subparsers(
        dest="subcommand", required=True, metavar="SUBCOMMAND"
    )
    p = operator.add_parser("add", help="create an operator; prints the TOTP secret to enrol")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--home", required=True)
    p.add_argument("--password-file", help="read the password from this file (else asked twice)")
    p.set_defaults(func=cmd_operator_add)
    p = operator.add_parser("list", help="operators, roles, lockout state")
    p.add_argument("--home", required=True)
    p.set_defaults(func=cmd_operator_list)
    for action, text in (("remove", "delete an operator (its sessions stop working)"),
                         ("unlock", "clear a lockout before its cool-down ends"),
                         ("revoke", "end every session of an operator")):  # fmt: skip
        p = operator.add_parser(action, help=text)
        p.add_argument("name")
        p.add_argument("--home", required=True)
        p.set_defaults(func=lambda args, action=action: _operator_change(args, action))
    p = operator.add_parser("login", help="log in at a node; prints the session token")
    p.add_argument("name")
    p.add_argument("--url", required=True, help="the node's RPC URL, e.g. http://127.0.0.1:8545")
    p.add_argument("--password-file")
    p.add_argument("--totp", help="the current code of the authenticator app (else asked)")
    p.add_argument("--lifetime", type=int, default=3600, help="session seconds, at most 28800 (default 3600)")
    p.set_defaults(func=cmd_operator_login)
    p = operator.add_parser("logout", help="revoke a session token (from --token or stdin)")
    p.add_argument("--url", required=True)
    p.add_argument("--token")
    p.set_defaults(func=cmd_operator_logout)

    audit = commands.add_parser("audit", help="the hash-chained audit log of logins and admin actions").add_subparsers(
        dest="subcommand", required=True, metavar="SUBCOMMAND"
    )
    p = audit.add_parser("verify", help="check every line's hash and order; exit 1 naming the first bad line")
    p.add_argument("--home", required=True)
    p.set_defaults(func=cmd_audit_verify)
