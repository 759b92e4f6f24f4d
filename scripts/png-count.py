#!/usr/bin/env python3
"""Counts pixels of one colour in a region of an 8-bit RGB PNG (the emulator's
--screenshot format), using only the standard library (zlib + the PNG filters of
RFC 2083 §6). Usage: png-count.py FILE RRGGBB [X0 Y0 X1 Y1]; prints
"WIDTH HEIGHT COUNT" where COUNT is over x0 <= x < x1, y0 <= y < y1 (default: all)."""
import struct
import sys
import zlib


def read_png(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit(f"{path}: not a PNG")
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            if (depth, ctype) != (8, 2):
                sys.exit(f"{path}: expected 8-bit RGB")
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, stride, rows, prev = zlib.decompress(idat), 3 * w, [], bytearray(3 * w)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - 3] if i >= 3 else 0
            b, c = prev[i], prev[i - 3] if i >= 3 else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return w, h, rows


w, h, rows = read_png(sys.argv[1])
want = bytes.fromhex(sys.argv[2])
x0, y0, x1, y1 = (int(v) for v in sys.argv[3:7]) if len(sys.argv) >= 7 else (0, 0, w, h)
count = sum(
    1
    for y in range(max(y0, 0), min(y1, h))
    for x in range(max(x0, 0), min(x1, w))
    if rows[y][3 * x:3 * x + 3] == want
)
print(w, h, count)
