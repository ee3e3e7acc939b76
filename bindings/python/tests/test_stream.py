"""Tests of libcce.StreamDecoder against hand-written bytes (no simulator needed)."""

from __future__ import annotations

import libcce
import pytest

# HEARTBEAT_CONF: MessageLength 4, MessageType 6, InvokeID 7 (then the same with 8).
CONF_7 = bytes([0, 0, 0, 4, 0, 0, 0, 6, 0, 0, 0, 7])
CONF_8 = bytes([0, 0, 0, 4, 0, 0, 0, 6, 0, 0, 0, 8])
# END_CALL_EVENT (type 24) with a 3-byte body: shorter than its fixed part.
BAD = bytes([0, 0, 0, 3, 0, 0, 0, 24, 1, 2, 3])
# A header announcing a 1 MiB body: over the 12,492-byte limit.
HUGE = bytes([0, 0x10, 0, 0, 0, 0, 0, 9])


def heartbeat_conf(invoke_id: int) -> dict[str, object]:
    return {"MessageType": 6, "MessageName": "HEARTBEAT_CONF", "InvokeID": invoke_id}


def test_feed_in_five_byte_chunks() -> None:
    wire = CONF_7 + CONF_8
    decoder = libcce.StreamDecoder(24)
    got = []
    for off in range(0, len(wire), 5):
        got.extend(decoder.feed(wire[off : off + 5]))
    assert got == [heartbeat_conf(7), heartbeat_conf(8)]
    assert decoder.pending == 0
    assert decoder.next() is None


def test_push_and_next() -> None:
    decoder = libcce.StreamDecoder(15)
    decoder.push(bytearray(CONF_7[:5]))
    assert decoder.pending == 5
    assert decoder.next() is None
    decoder.push(memoryview(CONF_7[5:] + CONF_8[:2]))
    assert decoder.next() == heartbeat_conf(7)
    assert decoder.pending == 2
    assert decoder.next() is None
    assert decoder.feed(CONF_8[2:]) == [heartbeat_conf(8)]
    assert decoder.feed(b"") == []


def test_oversized_length_breaks_the_stream() -> None:
    decoder = libcce.StreamDecoder(24)
    with pytest.raises(libcce.CodecError) as info:
        decoder.feed(HUGE)
    assert info.value.kind == "Codec"
    # Broken for good: even a valid message behind it is refused. (Core currently
    # reports these later calls with kind InvalidArgument, not Codec.)
    with pytest.raises(libcce.CceError):
        decoder.feed(CONF_7)
    with pytest.raises(libcce.CceError):
        decoder.next()


def test_undecodable_message_is_an_error_for_that_message_only() -> None:
    decoder = libcce.StreamDecoder(24)
    decoder.push(BAD + CONF_7)
    with pytest.raises(libcce.CodecError):
        decoder.next()
    assert decoder.next() == heartbeat_conf(7)

    # feed() returns the messages before the bad one; the next call raises for it,
    # after pushing its own bytes, and the messages after it still come.
    assert decoder.feed(CONF_7 + BAD + CONF_8) == [heartbeat_conf(7)]
    with pytest.raises(libcce.CodecError):
        decoder.feed(CONF_7)
    assert decoder.feed(b"") == [heartbeat_conf(8), heartbeat_conf(7)]


@pytest.mark.parametrize("version", [14, 26])
def test_unsupported_version(version: int) -> None:
    with pytest.raises(libcce.InvalidArgument) as info:
        libcce.StreamDecoder(version)
    assert info.value.kind == "InvalidArgument"


def test_exported() -> None:
    assert "StreamDecoder" in libcce.__all__
    assert repr(libcce.StreamDecoder(24)) == "<libcce.StreamDecoder pending=0>"
