"""Hostile input: screening's RPC parameters and labelled files fail with named errors, never crash."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from node.rpc.errors import RpcError
from node.screening.data import DataFileError, load_handbook, load_ulb
from node.screening.rpc import _hex, _transfer_id

params = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=200),
    st.binary(max_size=80),
    st.lists(st.integers(), max_size=3),
    st.from_regex(r"0x[0-9a-fA-F]{0,140}", fullmatch=True),
)


@settings(max_examples=300, deadline=None)
@given(params)
def test_rpc_parameters_are_parsed_or_refused_as_invalid_params(value):
    for parse in (lambda v: _hex(v, "transaction hash", 32), lambda v: _hex(v, "signature", 65), _transfer_id):
        try:
            result = parse(value)
        except RpcError as error:
            assert error.code == -32602
        else:
            assert isinstance(result, bytes | int)


header = "TRANSACTION_ID,TX_DATETIME,CUSTOMER_ID,TERMINAL_ID,TX_AMOUNT,TX_FRAUD\n"
cells = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(cells, min_size=0, max_size=8), max_size=6), st.booleans())
def test_labelled_files_load_or_fail_naming_the_row(rows, with_header):
    text = (header if with_header else "") + "".join(",".join(row) + "\n" for row in rows)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "data.csv"
        path.write_text(text)
        for load in (load_handbook, load_ulb):
            try:
                load(path)
            except DataFileError as error:
                assert str(path) in str(error)
