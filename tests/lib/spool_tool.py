#!/usr/bin/env python3
"""spool_tool.py - look into hvtrail spool/inbox segments (lib/spool_format.h).

  spool_tool.py records DIR        one line per record, in seq order:
                                   SEGFILE OFFSET SEQ LENGTH N
                                   (LENGTH = the record's bytes on disk,
                                   N = the first "n":<number> in it, or -1)
  spool_tool.py flip FILE OFFSET   flip one byte (xor 0x5a)
  spool_tool.py ns FILE            the "n" numbers found in FILE (set-aside bytes)
"""
import os
import re
import struct
import sys

HDR = struct.Struct("<IIQII")
MAGICS = (0x52545648, 0x484C4F48)
N_RE = re.compile(rb'"n":(\d+)')


def records(d):
    segs = sorted(f for f in os.listdir(d) if f.endswith(".seg"))
    for name in segs:
        data = open(os.path.join(d, name), "rb").read()
        off = 0
        while off + HDR.size <= len(data):
            magic, ln, seq, _crc, mlen = HDR.unpack_from(data, off)
            if magic not in MAGICS:
                break
            total = HDR.size + ln + mlen
            m = N_RE.search(data, off + HDR.size, off + HDR.size + ln)
            n = int(m.group(1)) if m and magic == MAGICS[0] else -1
            print(name, off, seq, total, n)
            off += total


def flip(path, off):
    with open(path, "r+b") as f:
        f.seek(off)
        b = f.read(1)
        f.seek(off)
        f.write(bytes([b[0] ^ 0x5A]))


def ns(path):
    for m in N_RE.finditer(open(path, "rb").read()):
        print(int(m.group(1)))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "records":
        records(sys.argv[2])
    elif cmd == "flip":
        flip(sys.argv[2], int(sys.argv[3]))
    elif cmd == "ns":
        ns(sys.argv[2])
    else:
        sys.exit(__doc__)
