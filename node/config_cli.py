"""`qenex node config`: print the documented defaults, or check a node's settings and show them."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from node.config import ConfigError, default_toml, load_settings


def cmd_node_config(args: argparse.Namespace) -> int:
    from node.p2p.network import NodeConfigError

    if args.print_default:
        sys.stdout.write(default_toml())
        return 0
    if args.home is None:
        print("error: give --home HOME to check a node's settings, or --print-default", file=sys.stderr)
        return 2
    try:
        settings = load_settings(Path(args.home))
    except (ConfigError, NodeConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(settings.to_toml())
    return 0


def add_config_command(node_commands: argparse._SubParsersAction) -> None:
    p = node_commands.add_parser(
        "config", help="print the default node.toml, or check HOME's settings (file + QENEX_* env) and print them"
    )
    p.add_argument("--home", help="node home whose node.toml, node.json and environment to check")
    p.add_argument("--print-default", action="store_true", help="print every option with its default and meaning")
    p.set_defaults(func=cmd_node_config)
