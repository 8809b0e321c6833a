"""Python's reading of kernel/qenex_ioctl.h agrees with the C compiler's: every struct's size and
member offsets, every constant and every ioctl number (compiled on the host from the same header)."""

import shutil
import subprocess

import pytest

from kernel import abi
from kernel.abi import ABI, AbiHeaderError, parse_header


@pytest.fixture(scope="module")
def c_view(tmp_path_factory):
    if shutil.which("gcc") is None:
        pytest.skip("no C compiler on this machine (gcc) to compare the header with")
    lines = ["#include <stdio.h>", "#include <stddef.h>", '#include "qenex_ioctl.h"', "int main(void) {"]
    for name, layout in ABI.structs.items():
        lines.append(f'printf("size {name} %zu\\n", sizeof(struct {name}));')
        for field in layout.fields:
            lines.append(f'printf("offset {name}.{field} %zu\\n", offsetof(struct {name}, {field}));')
    for name in ABI.ioctls:
        lines.append(f'printf("ioctl {name} %lu\\n", (unsigned long){name});')
    for name, value in ABI.constants.items():
        if isinstance(value, int):
            lines.append(f'printf("const {name} %lld\\n", (long long){name});')
    lines.append("return 0; }")
    directory = tmp_path_factory.mktemp("abi")
    source = directory / "abi.c"
    source.write_text("\n".join(lines))
    header_dir = abi.resources.files("kernel")
    subprocess.run(
        ["gcc", "-Wall", "-Werror", f"-I{header_dir}", "-o", str(directory / "abi"), str(source)], check=True
    )
    out = subprocess.run([str(directory / "abi")], check=True, capture_output=True, text=True).stdout
    return {" ".join(line.split()[:2]): int(line.split()[2]) for line in out.splitlines()}


def test_struct_sizes_and_offsets_agree_with_c(c_view):
    for name, layout in ABI.structs.items():
        assert c_view[f"size {name}"] == layout.size, name
        for field, offset in zip(layout.fields, layout.offsets, strict=True):
            assert c_view[f"offset {name}.{field}"] == offset, f"{name}.{field}"


def test_ioctl_numbers_agree_with_c(c_view):
    assert len(ABI.ioctls) == 8
    for name, number in ABI.ioctls.items():
        assert c_view[f"ioctl {name}"] == number, name


def test_constants_agree_with_c(c_view):
    for name, value in ABI.constants.items():
        if isinstance(value, int):
            assert c_view[f"const {name}"] == value, name


def test_table_geometry():
    assert abi.TABLE_HEADER.size == abi.HEADER_BYTES == 64
    assert abi.TABLE_BYTES % 4096 == 0
    assert abi.HEADER_BYTES + abi.MAX_SLOTS * abi.SLOT.size <= abi.TABLE_BYTES
    assert abi.DEVICE_PATH == "/dev/qenex_banking"


def test_pack_and_unpack_round_trip():
    layout = ABI.structs["qenex_transfer"]
    data = layout.pack(debit_slot=3, credit_slot=9, amount=-5)
    assert layout.unpack(data) == {"debit_slot": 3, "credit_slot": 9, "amount": -5}
    with pytest.raises(TypeError, match="no field"):
        layout.pack(debit=1)


def test_header_rules_are_enforced():
    with pytest.raises(AbiHeaderError, match="not naturally aligned"):
        parse_header("struct qenex_bad {\n\t__u32 a;\n\t__u64 b;\n};")
    with pytest.raises(AbiHeaderError, match="tail padding"):
        parse_header("struct qenex_bad {\n\t__u64 a;\n\t__u32 b;\n};")
    with pytest.raises(AbiHeaderError, match="cannot read member"):
        parse_header("struct qenex_bad {\n\tint a;\n};")
