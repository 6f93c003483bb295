"""png.py - read a PNG with the standard library only (zlib and the five
scanline filters), for the report's browser test; and write one back (for
looking at a part of a screenshot by hand).

  img = png.read(path)        -> Image(width, height, channels, rows)
  img.pixel(x, y)             -> (r, g, b)
  png.write(path, img.crop(x0, y0, x1, y1))
"""
import struct
import zlib


class Image:
    def __init__(self, width, height, channels, rows):
        self.width, self.height, self.channels, self.rows = width, height, channels, rows

    def pixel(self, x, y):
        o = x * self.channels
        r = self.rows[y]
        return r[o], r[o + 1], r[o + 2]

    def crop(self, x0, y0, x1, y1):
        c = self.channels
        return Image(x1 - x0, y1 - y0, c, [bytes(r[x0 * c:x1 * c]) for r in self.rows[y0:y1]])


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def read(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("%s: not a PNG file" % path)
    pos, idat, hdr = 8, [], None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    w, h, depth, ctype, _, _, interlace = hdr
    if depth != 8 or ctype not in (2, 6) or interlace:
        raise ValueError("%s: only 8-bit RGB or RGBA without interlacing (depth %d, colour "
                         "type %d, interlace %d)" % (path, depth, ctype, interlace))
    c = 3 if ctype == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = w * c
    rows, prev, p = [], bytearray(stride), 0
    for _ in range(h):
        f = raw[p]
        line = bytearray(raw[p + 1:p + 1 + stride])
        p += 1 + stride
        if f == 1:
            for i in range(c, stride):
                line[i] = (line[i] + line[i - c]) & 255
        elif f == 2:
            for i in range(stride):
                line[i] = (line[i] + prev[i]) & 255
        elif f == 3:
            for i in range(stride):
                left = line[i - c] if i >= c else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif f == 4:
            for i in range(stride):
                left = line[i - c] if i >= c else 0
                upleft = prev[i - c] if i >= c else 0
                line[i] = (line[i] + _paeth(left, prev[i], upleft)) & 255
        elif f != 0:
            raise ValueError("%s: unknown filter %d" % (path, f))
        rows.append(bytes(line))
        prev = line
    return Image(w, h, c, rows)


def write(path, img):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ctype = 2 if img.channels == 3 else 6
    raw = b"".join(b"\x00" + r for r in img.rows)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", img.width, img.height, 8, ctype, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw, 6)))
        f.write(chunk(b"IEND", b""))
