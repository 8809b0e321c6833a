"""Secret files: owner-only or refused with the chmod to run; Kubernetes' root-owned 0440 Secret
mounts (read through fsGroup) pass, group-writable ones never."""

from __future__ import annotations

import os

import pytest

from node.secret_files import InsecureSecretFileError, check_home_secrets, check_private, write_private


def test_written_owner_only_whatever_the_umask(tmp_path):
    path = tmp_path / "secret"
    path.write_text("old")
    path.chmod(0o644)
    old_umask = os.umask(0)
    try:
        write_private(path, b"new")
    finally:
        os.umask(old_umask)
    assert path.read_bytes() == b"new" and (path.stat().st_mode & 0o777) == 0o600
    check_private(path)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644])
def test_own_file_readable_by_others_is_refused_naming_the_chmod(tmp_path, mode):
    path = tmp_path / "validator.key"
    path.write_text("0x00")
    path.chmod(mode)
    with pytest.raises(InsecureSecretFileError, match=f"run: chmod 600 {path}"):
        check_home_secrets(tmp_path)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the file to another owner")
def test_a_root_owned_group_readable_mount_passes_but_not_group_writable(tmp_path):
    path = tmp_path / "validator.key"
    path.write_text("0x00")
    os.chown(path, 12345, os.getegid())  # owned by someone else, like a kubelet-mounted Secret
    path.chmod(0o440)
    check_private(path)
    path.chmod(0o460)
    with pytest.raises(InsecureSecretFileError):
        check_private(path)
    path.chmod(0o444)
    with pytest.raises(InsecureSecretFileError):
        check_private(path)
