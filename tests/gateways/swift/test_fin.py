"""FIN block structure: headers, text block, RJE batches, ACK prefixes, bounds, lossless round trips."""

from __future__ import annotations

import pytest

from gateways.problems import MessageError
from gateways.swift.fin import MAX_MESSAGE_BYTES, MAX_MESSAGES, FinMessage, generate, parse_file

INPUT = (
    b"{1:F01AABSLKLXAXXX0000000000}{2:I103HANYUS33XXXXN}"
    b"{3:{111:001}{121:09797101-a670-4e81-98ed-34b409736305}{119:STP}}{4:\r\n"
    b":20:925OTT250922015\r\n:23B:CRED\r\n:32A:250922USD700,\r\n"
    b":50K:/100611002421\r\nOPTIMA TECHNOLOGIES\r\n:59:/LK123456\r\nLNM\r\n:71A:OUR\r\n-}"
    b"{5:{MAC:D9D8FA56}{CHK:46E46A6460F2}}"
)


def test_blocks_of_an_input_message():
    (message,) = parse_file(INPUT)
    assert message.basic == "F01AABSLKLXAXXX0000000000"
    assert message.application == "I103HANYUS33XXXXN"
    assert message.direction == "I" and message.mt_type == "103"
    assert message.user_value("121") == "09797101-a670-4e81-98ed-34b409736305"
    assert message.user_value("111") == "001" and message.user_value("119") == "STP"
    assert message.field_values("50K") == ["/100611002421\nOPTIMA TECHNOLOGIES"]
    assert message.trailer == [("MAC", "D9D8FA56"), ("CHK", "46E46A6460F2")]


def test_output_header_and_lf_line_ends_read_the_same():
    output = INPUT.replace(b"I103HANYUS33XXXXN", b"O1031610191014BBBBUS3NBXXX63382244921910142210N")
    (crlf,) = parse_file(output)
    (lf,) = parse_file(output.replace(b"\r\n", b"\n"))
    assert crlf == lf and crlf.direction == "O" and crlf.mt_type == "103"


def test_rje_batch_and_ack_prefix():
    ack = b"{1:F21AABSLKLXAXXX0000000000}{4:{177:1903250612}{451:0}}"
    data = ack + INPUT + b"\r\n$" + INPUT + b"\n$\n" + INPUT
    messages = parse_file(data)
    assert len(messages) == 3
    assert messages[0].ack is not None and messages[0].ack.system == [("177", "1903250612"), ("451", "0")]
    assert messages[1].ack is None
    assert parse_file(generate(messages)) == messages


def test_a_lone_ack_is_a_service_message():
    (message,) = parse_file(b"{1:F21AABSLKLXAXXX0000000000}{4:{177:1903250612}{451:1}{405:T2600}}")
    assert message.is_service and message.mt_type is None


def test_headless_statement_export():
    data = b":20:A\n:25:1\n:28C:1\n:60F:C110101EUR1,00\n:62F:C110101EUR1,00\n-\n:20:B\n:25:1\n:28C:2\n:60F:C1"
    messages = parse_file(data + b"10101EUR1,00\n:61:110101D1,00NTRFNONREF\n:86:x\n:62F:C110101EUR0,00\n-")
    assert [m.mt_type for m in messages] == ["950", "940"]
    assert all(m.headless for m in messages)
    assert parse_file(generate(messages)) == messages


@pytest.mark.parametrize(
    ("data", "found"),
    [
        (b"", "not a FIN message"),
        (b"hello", "not a FIN message"),
        (b"{1:F01AABSLKLXAXXX0000000000}{4:\n:20:X\n", "missing '\\n-}'"),
        (b"{1:F01AABSLKLXAXXX0000000000", "missing '}'"),
        (b"{1:F01A}{3:{121:x}", "expected"),
        (b"{1:F01A}{4:\n:20:X\n-}garbage", "expected '{'"),
        (b"{1:F01A}{4:\nfree text\n-}", "text before the first field"),
        (b"{1:F01A}{2:I103X}{2:I103X}", "block 2 twice"),
        (b"{1:F01A}{{:x}", "bad block id"),
    ],
)
def test_broken_structure_is_refused_with_a_problem(data, found):
    with pytest.raises(MessageError) as error:
        parse_file(data)
    assert any(found in p.found for p in error.value.problems), error.value.problems
    assert all(p.rule.startswith("FIN") for p in error.value.problems)


def test_bounds_per_message_and_per_file():
    big = INPUT.replace(b":71A:OUR", b":70:" + b"A" * MAX_MESSAGE_BYTES + b"\r\n:71A:OUR")
    with pytest.raises(MessageError) as error:
        parse_file(big)
    assert error.value.problems[0].rule == "FIN bounds"
    small = b"{1:F01AABSLKLXAXXX0000000000}{4:\r\n:20:X\r\n-}"
    with pytest.raises(MessageError) as error:
        parse_file(small * (MAX_MESSAGES + 1))
    assert error.value.problems[0].rule == "FIN bounds"
    assert len(parse_file(small * MAX_MESSAGES)) == MAX_MESSAGES
    headless = b":20:X\n-\n" * (MAX_MESSAGES + 1)
    with pytest.raises(MessageError):
        parse_file(headless)


def test_generate_is_canonical_crlf_and_round_trips():
    (message,) = parse_file(INPUT.replace(b"\r\n", b"\n"))
    assert generate([message]) == INPUT


def test_multi_line_values_keep_blank_lines():
    message = FinMessage(basic="F01AABSLKLXAXXX0000000000", fields=[("20", "X"), ("86", "a\n\nb"), ("70", "")])
    assert parse_file(generate([message])) == [message]
