"""Files that hold secrets: written owner-only, and refused when others can read them.

A validator key or an RPC secret that another local user can read is a key that user holds. The
node checks every secret file it is about to use before it opens anything else (ssh refuses a
private key readable by others for the same reason), and says which file and the chmod to run.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from genesis.files import COMPLIANCE_KEY_FILE, P2P_KEY_FILE, VALIDATOR_KEY_FILE

PRIVATE_MODE = 0o600
# Files in HOME that hold secrets when present (relative names; the RPC policy adds its own).
HOME_SECRET_FILES = (
    VALIDATOR_KEY_FILE,
    COMPLIANCE_KEY_FILE,
    P2P_KEY_FILE,
    "operators.json",
    "operator-session.key",
    "pii-keys",
    "personal-data",  # node/pii/store.py: sealed envelopes (a directory, 0700)
    "validator.keystore.json",  # node/key_store.py: encrypted, still nobody else's business
)


class InsecureSecretFileError(OSError):
    """A secret file (or directory of them) that users other than the owner may read or write."""


def check_private(path: Path) -> None:
    """Refuse `path` if others have any permission on it, or its group has any while the file is
    ours (absent files pass). A file owned by another user (root) that we read through our group
    may be group-readable, never group-writable: that is how Kubernetes mounts a Secret with
    `defaultMode: 0440` and `fsGroup` (deploy/kubernetes/)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    mode = stat.S_IMODE(info.st_mode)
    refused = mode & 0o077 if info.st_uid == os.geteuid() else mode & 0o027
    if refused:
        wanted = "700" if path.is_dir() else "600"
        raise InsecureSecretFileError(
            f"{path} holds secrets but has mode {mode:04o} (other users may read or change it); "
            f"run: chmod {wanted} {path}"
        )


def check_home_secrets(home: Path, extra: Iterable[Path | None] = ()) -> None:
    """Check every secret file of a node's HOME, plus `extra` ones (e.g. the RPC JWT secret)."""
    for name in HOME_SECRET_FILES:
        check_private(Path(home) / name)
    for path in extra:
        if path is not None:
            check_private(path)


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically with mode 0600, whatever the umask or an older file's mode."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, PRIVATE_MODE)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def private_dir(path: Path) -> Path:
    """Create (if needed) a directory only its owner may enter."""
    path = Path(path)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    check_private(path)
    return path
