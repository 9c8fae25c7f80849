"""Just enough RFC 3284 parsing to rewrite fields of a delta's first window, for hostile-input tests."""

from __future__ import annotations

from dataclasses import dataclass

VCD_DECOMPRESS = 0x01
VCD_CODETABLE = 0x02
VCD_APPHEADER = 0x04
VCD_SOURCE = 0x01
VCD_TARGET = 0x02
VCD_ADLER32 = 0x04  # xdelta3's extension to the window indicator
VCD_DATACOMP = 0x01


def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = 0
    while True:
        byte = buf[pos]
        pos += 1
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, pos


def write_varint(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


@dataclass
class FirstWindow:
    header: bytes  # everything before the window
    win_head: bytes  # win_indicator and source segment fields
    target_len: int
    delta_indicator: int
    data: bytes
    inst: bytes
    addr: bytes
    checksum: bytes
    rest: bytes  # later windows

    def encode(self) -> bytes:
        body = bytearray()
        body += write_varint(self.target_len)
        body.append(self.delta_indicator)
        body += write_varint(len(self.data)) + write_varint(len(self.inst)) + write_varint(len(self.addr))
        body += self.checksum + self.data + self.inst + self.addr
        return self.header + self.win_head + write_varint(len(body)) + bytes(body) + self.rest


def parse_first_window(delta: bytes) -> FirstWindow:
    assert delta[:4] == b"\xd6\xc3\xc4\x00"
    indicator = delta[4]
    pos = 5
    if indicator & VCD_DECOMPRESS:
        pos += 1
    assert not indicator & VCD_CODETABLE
    if indicator & VCD_APPHEADER:
        length, pos = read_varint(delta, pos)
        pos += length
    header = delta[:pos]
    win_start = pos
    win_indicator = delta[pos]
    pos += 1
    if win_indicator & (VCD_SOURCE | VCD_TARGET):
        _, pos = read_varint(delta, pos)
        _, pos = read_varint(delta, pos)
    win_head = delta[win_start:pos]
    encoding_len, pos = read_varint(delta, pos)
    end = pos + encoding_len
    target_len, pos = read_varint(delta, pos)
    delta_indicator = delta[pos]
    pos += 1
    data_len, pos = read_varint(delta, pos)
    inst_len, pos = read_varint(delta, pos)
    addr_len, pos = read_varint(delta, pos)
    checksum = delta[pos : pos + 4] if win_indicator & VCD_ADLER32 else b""
    pos += len(checksum)
    data = delta[pos : pos + data_len]
    inst = delta[pos + data_len : pos + data_len + inst_len]
    addr = delta[pos + data_len + inst_len : end]
    assert len(addr) == addr_len
    return FirstWindow(header, win_head, target_len, delta_indicator, data, inst, addr, checksum, delta[end:])
