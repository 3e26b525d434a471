"""H.264 parameter sets and NAL units as an MP4 track holds them (ISO/IEC 14496-15).

Owns the ``avcC`` record (``ParameterSets``: the SPS and PPS, their ids, the profile, level
and pixel format they state, and two encoders' sets merged into one record), the NAL units of
an MP4 sample and of an encoder's start-code separated output, and x264's name for each
profile browsers play. Imports the standard library and PyAV (packets only); no other module
of this package, never streamlit, pages, workers or sqlalchemy.
"""

from __future__ import annotations

from dataclasses import dataclass

import av

BROWSER_PROFILES = {66: "baseline", 77: "main", 100: "high"}
"""x264's name for each H.264 profile (profile_idc) every browser plays: what a copied clip may use."""


@dataclass(frozen=True)
class ParameterSets:
    """The SPS and PPS NAL units of an H.264 stream, as an MP4 ``avcC`` record holds them."""

    sps: tuple[bytes, ...]
    pps: tuple[bytes, ...]
    length_size: int
    """Bytes of the length before each NAL unit in a sample."""
    indication: bytes
    """Profile, compatibility flags and level, as the avcC record states them."""
    tail: bytes
    """What the record holds after the PPS (chroma format and bit depths for High profiles)."""

    @property
    def profile(self) -> int:
        return self.indication[0]

    @property
    def level(self) -> int:
        return self.indication[2]

    @property
    def pix_fmt(self) -> str:
        """The pictures' format as FFmpeg names it, read from the first SPS (8-bit 4:2:0 below High)."""
        payload = _unescaped(self.sps[0][1:])
        if payload[0] not in (100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135):
            return "yuv420p"
        bit = _exp_golomb_end(payload, 24)  # after the SPS id
        chroma = _exp_golomb(payload, bit)
        depth = _exp_golomb(payload, _exp_golomb_end(payload, bit) + (chroma == 3)) + 8  # of luma
        name = {0: "gray", 1: "yuv420p", 2: "yuv422p", 3: "yuv444p"}.get(chroma, "unknown")
        return name if depth == 8 else f"{name}{depth}le"

    @property
    def ids(self) -> set[int]:
        """Parameter-set ids in use (x264 numbers its SPS and PPS alike, so one pool for both)."""
        return {_sps_id(n) for n in self.sps} | {_pps_id(n) for n in self.pps}

    @classmethod
    def parse(cls, avcc: bytes) -> ParameterSets | None:
        """Read an ``avcC`` record; None if it is not one."""
        if len(avcc) < 7 or avcc[0] != 1:
            return None
        try:
            sps, at = _records(avcc, 6, avcc[5] & 0x1F)
            pps, at = _records(avcc, at + 1, avcc[at])
            sets = cls(sps, pps, (avcc[4] & 3) + 1, avcc[1:4], avcc[at:])
            if not sps or not pps or not sets.ids or not sets.pix_fmt:  # a broken set fails to read
                return None
        except (IndexError, ValueError):
            return None
        return sets

    @classmethod
    def from_annexb(cls, data: bytes) -> ParameterSets | None:
        """Read an encoder's out-of-band headers (start-code separated SPS and PPS)."""
        nals = _annexb_nals(data)
        sps = tuple(n for n in nals if n[0] & 0x1F == 7)
        pps = tuple(n for n in nals if n[0] & 0x1F == 8)
        if not sps or not pps:
            return None
        return cls(sps, pps, 4, sps[0][1:4], b"")

    def merged(self, other: ParameterSets) -> bytes:
        """An avcC record with this one's sets and ``other``'s, in id order, stating this one's profile."""
        sps = sorted({*self.sps, *other.sps}, key=_sps_id)
        pps = sorted({*self.pps, *other.pps}, key=_pps_id)
        record = bytes([1, *self.indication, 0xFC | (self.length_size - 1), 0xE0 | len(sps)])
        record += b"".join(len(n).to_bytes(2, "big") + n for n in sps)
        record += bytes([len(pps)]) + b"".join(len(n).to_bytes(2, "big") + n for n in pps)
        return record + self.tail


def _records(avcc: bytes, at: int, count: int) -> tuple[tuple[bytes, ...], int]:
    """``count`` NAL units, each after its 16-bit length, from ``at``; and where they end."""
    found = []
    for _ in range(count):
        size = int.from_bytes(avcc[at : at + 2], "big")
        if at + 2 + size > len(avcc):
            raise IndexError("the avcC record ends early")
        found.append(avcc[at + 2 : at + 2 + size])
        at += 2 + size
    return tuple(found), at


def _annexb_nals(data: bytes) -> list[bytes]:
    """Split start-code separated NAL units."""
    nals, at = [], data.find(b"\x00\x00\x01")
    while at >= 0:
        nxt = data.find(b"\x00\x00\x01", at + 3)
        nal = data[at + 3 : nxt if nxt >= 0 else len(data)]
        if nxt >= 0:
            nal = nal.rstrip(b"\x00")  # the leading zero of a four-byte start code
        if nal:
            nals.append(nal)
        at = nxt
    return nals


def length_prefixed(data: bytes, length_size: int) -> bytes:
    """An encoder's start-code separated access unit as MP4 sample data (length before each NAL unit)."""
    out = bytearray()
    for nal in _annexb_nals(data):
        if nal[0] & 0x1F not in (7, 8, 9):  # parameter sets live in the avcC; delimiters are not stored
            out += len(nal).to_bytes(length_size, "big") + nal
    return bytes(out)


def nal_types(packet: av.Packet, length_size: int) -> set[int]:
    """NAL unit types in an MP4 sample."""
    sample = bytes(packet)
    types, at = set(), 0
    while at + length_size < len(sample):
        size = int.from_bytes(sample[at : at + length_size], "big")
        types.add(sample[at + length_size] & 0x1F)
        at += length_size + size
    return types


def _sps_id(nal: bytes) -> int:
    return _exp_golomb(_unescaped(nal[1:]), 24)  # after profile, constraint flags and level


def _pps_id(nal: bytes) -> int:
    return _exp_golomb(_unescaped(nal[1:]), 0)


def _unescaped(payload: bytes) -> bytes:
    """The payload without emulation-prevention bytes (00 00 03 → 00 00)."""
    return payload.replace(b"\x00\x00\x03", b"\x00\x00")


def _exp_golomb_end(data: bytes, bit: int) -> int:
    """Where the Exp-Golomb number starting at ``bit`` ends."""
    zeros = 0
    while not (data[(bit + zeros) // 8] >> (7 - (bit + zeros) % 8)) & 1:
        zeros += 1
    return bit + 2 * zeros + 1


def _exp_golomb(data: bytes, bit: int) -> int:
    """The unsigned Exp-Golomb number starting at ``bit``."""
    bits = int.from_bytes(data, "big")
    width = len(data) * 8

    def at(i: int) -> int:
        if i >= width:
            raise ValueError("the parameter set ends early")
        return (bits >> (width - 1 - i)) & 1

    zeros = 0
    while not at(bit + zeros):
        zeros += 1
    value = 0
    for i in range(zeros):
        value = value << 1 | at(bit + zeros + 1 + i)
    return (1 << zeros) - 1 + value
