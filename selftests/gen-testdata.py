#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Write the composefs-dump files the guest selftests build images from.

    gen-testdata.py OUTDIR

Each dump exercises a group of features the differential tests compare
between composefs and the EROFS + overlayfs reference stack. The content is
deterministic (fixed seed), so failures reproduce. The guest builds v0 and
v1 images from these with the project's mkcomposefs; scripts/check.sh also
builds them with the reference mkcomposefs on the host.
"""

import os
import random
import struct
import sys

DIGEST = "35d02f81325122d77ec1d11baba655bc9bf8a891ab26119a41c50fa03ddfb408"


def esc(data):
    """Escape bytes the way the dump format expects (\\xNN for specials)."""
    if isinstance(data, str):
        data = data.encode()
    out = []
    for b in data:
        if b <= 0x20 or b >= 0x7F or b in b"\\=":
            out.append("\\x%02x" % b)
        else:
            out.append(chr(b))
    return "".join(out)


class Dump:
    """Collects entries; parents must be added before their children."""

    def __init__(self):
        self.lines = []

    def add(self, path, mode, size=0, nlink=1, uid=0, gid=0, rdev=0,
            mtime="0.0", payload="-", content="-", digest="-", xattrs=()):
        fields = [esc(path) if path != "/" else "/", str(size), "%o" % mode,
                  str(nlink), str(uid), str(gid), str(rdev), mtime, payload,
                  content, digest]
        fields += ["%s=%s" % (esc(k), esc(v)) for k, v in xattrs]
        self.lines.append(" ".join(fields))

    def dir(self, path, mode=0o755, **kw):
        self.add(path, 0o40000 | mode, size=4096, nlink=2, **kw)

    def file(self, path, data=b"", mode=0o644, **kw):
        self.add(path, 0o100000 | mode, size=len(data),
                 content=esc(data) if data else "-", **kw)

    def external(self, path, size, obj, digest="-", mode=0o644, **kw):
        self.add(path, 0o100000 | mode, size=size, payload=obj, digest=digest, **kw)

    def hardlink(self, path, target):
        self.lines.append("%s 0 @100644 0 0 0 0 0.0 %s - -" % (esc(path), esc(target)))

    def write(self, name):
        with open(name, "w") as f:
            f.write("\n".join(self.lines) + "\n")


def acl(entries):
    """A POSIX ACL xattr value: version 2 header, (tag, perm, id) entries."""
    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", t, p, i) for t, p, i in entries)


def types_dump():
    """Every file type, hard links, times, owners, inline sizes."""
    d = Dump()
    d.dir("/", mtime="1700000000.123456789", xattrs=[("user.root", "yes")])
    d.dir("/dev", uid=1, gid=2, mtime="5.5")
    d.add("/dev/blk", 0o60660, rdev=(8 << 8) | 1, gid=6)
    d.add("/dev/chr", 0o20620, rdev=(4 << 8) | 64, gid=5)
    d.add("/dev/bigdev", 0o20600, rdev=(259 << 20) | 70000)
    d.add("/dev/fifo", 0o10644)
    d.add("/dev/sock", 0o140755)
    for size in (0, 1, 63, 64, 65, 100, 1000, 4095, 4096, 4097, 5000):
        d.file("/inline-%d" % size, bytes((i * 7 + size) & 0xFF for i in range(size)))
    d.file("/exec", b"#!/bin/sh\necho composefs-exec-ok\n", mode=0o755)
    d.file("/setuid", b"x", mode=0o4755)
    d.file("/sticky-file", b"y", mode=0o1644)
    d.dir("/sticky", mode=0o1777)
    d.file("/owned", b"owned", uid=4294967294, gid=65534)
    d.file("/bigid", b"z", uid=70000, gid=123456)
    d.file("/old", b"old", mtime="-100.5")
    d.file("/future", b"future", mtime="4102444800.999999999")
    d.add("/link", 0o120777, size=6, payload="target")
    d.add("/abs-link", 0o120777, size=9, payload="/etc/none")
    d.add("/dot-link", 0o120777, size=2, payload="..")
    long_target = "/".join(["component%03d" % i for i in range(200)])[:4000]
    d.add("/long-link", 0o120777, size=len(long_target), payload=long_target)
    d.file("/hl-a", b"shared by two names", mode=0o600)
    d.hardlink("/hl-b", "/hl-a")
    d.dir("/hl-dir")
    d.hardlink("/hl-dir/hl-c", "/hl-a")
    d.add("/hl-sym", 0o120777, size=4, payload="hl-a")
    d.hardlink("/hl-sym2", "/hl-sym")
    d.external("/ext", 100, "35/" + DIGEST[2:], DIGEST)
    d.external("/ext-nodigest", 12345, "ab/cdef")
    d.external("/ext-noredirect", 12345, "-", DIGEST)
    d.external("/ext-empty", 0, "-")
    d.dir("/empty-dir", mode=0o700)
    return d


def names_dump():
    """Large directories (multi-block dirents), long names, odd bytes, depth."""
    rng = random.Random(1)
    d = Dump()
    d.dir("/")
    d.dir("/big")
    names = set()
    while len(names) < 5000:
        n = rng.randint(1, 60)
        names.add("".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789_-.") for _ in range(n)))
    names.discard(".")
    names.discard("..")
    for n in sorted(names):
        if rng.random() < 0.1:
            d.add("/big/" + n, 0o120777, size=3, payload="dst")
        else:
            d.file("/big/" + n, b"")
    d.dir("/long")
    for length in (1, 2, 100, 200, 254, 255):
        for c in "ax":
            d.file("/long/" + c * length, c.encode())
    d.dir("/odd")
    for raw in (b"sp ace", b"tab\tname", b"new\nline", b"back\\slash", b"eq=ual",
                b"\x01ctl", b"\x7fdel", b"\xff\xfehigh", "ünïcødé".encode(), b"-dash",
                b"...", b".hidden", b"\xe2\x80\x8b"):
        d.file(b"/odd/" + raw, raw)
    path = ""
    for depth in range(20):
        path += "/d%d" % depth
        d.dir(path)
    d.file(path + "/leaf", b"deep")
    return d


def xattrs_dump():
    """Inline and shared xattrs, all prefixes, ACLs, overlay escaping."""
    d = Dump()
    d.dir("/", xattrs=[("user.overlay.origin", "x")])
    selinux = "system_u:object_r:usr_t:s0\0"
    for i in range(30):
        d.file("/shared-%02d" % i, b"s", xattrs=[("security.selinux", selinux),
                                                 ("user.common", "same-everywhere")])
    many = [("user.attr%03d" % i, "value-%d" % i * (i % 5 + 1)) for i in range(60)]
    d.file("/many", b"m", xattrs=many)
    d.file("/big-value", b"b", xattrs=[("user.big", "v" * 3000)])
    d.file("/empty-value", b"e", xattrs=[("user.empty", "")])
    d.file("/binary", b"b", xattrs=[("user.bin", b"\x00\x01\xff\n=\\")])
    d.file("/trusted", b"t", xattrs=[("trusted.foo", "bar"), ("trusted.overlay.hidden", "h")])
    d.file("/escaped", b"e", xattrs=[("trusted.overlay.overlay.redirect", "/esc"),
                                     ("trusted.overlay.overlay.opaque", "y"),
                                     ("user.overlay.foo", "u")])
    d.file("/security", b"s", xattrs=[("security.capability", b"\x00\x00\x00\x02" + b"\x00" * 16),
                                      ("security.ima", "ima")])
    access = acl([(1, 6, 0xFFFFFFFF), (2, 4, 1000), (4, 4, 0xFFFFFFFF), (8, 0, 1001),
                  (0x10, 6, 0xFFFFFFFF), (0x20, 0, 0xFFFFFFFF)])
    d.file("/acl-file", b"acl", mode=0o640, xattrs=[("system.posix_acl_access", access)])
    default = acl([(1, 7, 0xFFFFFFFF), (4, 5, 0xFFFFFFFF), (0x20, 5, 0xFFFFFFFF)])
    d.dir("/acl-dir", xattrs=[("system.posix_acl_default", default),
                              ("system.posix_acl_access", access)])
    d.file("/acl-dir/plain", b"p")
    d.dir("/wh")
    d.add("/wh/whiteout", 0o20000)
    d.add("/wh/char-not-wh", 0o20644, rdev=1)
    d.file("/wh/kept", b"kept")
    d.dir("/opaque", xattrs=[("trusted.overlay.opaque", "y")])
    d.file("/opaque/x", b"x")
    d.dir("/esc-opaque", xattrs=[("trusted.overlay.overlay.opaque", "y")])
    d.file("/esc-opaque/x", b"x")
    d.file("/xsym-target", b"t")
    d.add("/xsym", 0o120777, size=11, payload="xsym-target",
          xattrs=[("user.on-symlink", "nope"), ("security.selinux", selinux)])
    d.add("/xdev", 0o20600, rdev=5, xattrs=[("user.dev", "d")])
    return d


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    types_dump().write(os.path.join(out, "types.dump"))
    names_dump().write(os.path.join(out, "names.dump"))
    xattrs_dump().write(os.path.join(out, "xattrs.dump"))


if __name__ == "__main__":
    main()
