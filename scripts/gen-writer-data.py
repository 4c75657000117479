#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Inputs for the tests of images from other writers (gen-writer-repos.sh).

    gen-writer-data.py tree DIR      a directory tree for ostree and composefs-rs
    gen-writer-data.py layers DIR    container layers as composefs dumps

`tree` writes DIR (run as root: files owned by uid 1000 are part of it).
`layers` writes DIR/layerN.dump (N = 1..3, lowest first), their objects in
DIR/objects/XX/<sha256 of the content> (named by content digest, as
containers-storage names them), and DIR/merged.txt: what the layers give
stacked (whiteouts and opaque directories applied), one line per path with
its type and, for regular files, the content's md5, derived here from the
layer definitions and not from any mount.

Contents are deterministic (fixed seeds).
"""

import hashlib
import os
import random
import struct
import subprocess
import sys


def acl(entries):
    """A POSIX ACL xattr value: version 2, then (tag, perm, id) entries."""
    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", t, p, i) for t, p, i in entries)


def tree(root):
    rnd = random.Random(16)
    os.makedirs(root)

    def put(path, data, mode=0o644, uid=0, gid=0, xattrs=()):
        p = os.path.join(root, path)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
        os.chown(p, uid, gid)
        os.chmod(p, mode)
        for k, v in xattrs:
            os.setxattr(p, k, v)

    def mkdir(path, mode=0o755, uid=0, gid=0, xattrs=()):
        p = os.path.join(root, path)
        os.makedirs(p, exist_ok=True)
        os.chown(p, uid, gid)
        os.chmod(p, mode)
        for k, v in xattrs:
            os.setxattr(p, k, v)

    # Sizes around the inline limit of composefs-rs (64 bytes) and the
    # block size, and files of several blocks.
    put("empty", b"")
    put("one", b"1")
    put("inline-64", rnd.randbytes(64))
    put("external-65", rnd.randbytes(65))
    put("block-4096", rnd.randbytes(4096))
    put("block-4097", rnd.randbytes(4097))
    put("usr/lib/large", rnd.randbytes(300000))
    dup = rnd.randbytes(5000)
    put("usr/share/dup-a", dup)
    put("usr/share/dup-b", dup)
    put("usr/bin/tool", b"#!/bin/sh\necho tool\n" + rnd.randbytes(200), mode=0o755)
    put("usr/bin/suid", rnd.randbytes(3000), mode=0o4755)
    put("usr/bin/sgid", rnd.randbytes(100), mode=0o2711, gid=50)
    mkdir("home/user", mode=0o700, uid=1000, gid=1000)
    put("home/user/private", rnd.randbytes(1000), mode=0o600, uid=1000, gid=1000)
    # POSIX ACLs: uid 1000 may read a file its mode keeps from others, and
    # a directory's default ACL.
    put("etc/acl-file", rnd.randbytes(300), mode=0o640,
        xattrs=[("system.posix_acl_access", acl([(1, 6, 0xffffffff), (2, 4, 1000),
                                                 (4, 4, 0xffffffff), (0x10, 4, 0xffffffff),
                                                 (0x20, 0, 0xffffffff)]))])
    mkdir("acl-dir", xattrs=[("system.posix_acl_default", acl([(1, 7, 0xffffffff), (2, 5, 1000),
                                                              (4, 5, 0xffffffff), (0x10, 5, 0xffffffff),
                                                              (0x20, 5, 0xffffffff)]))])
    mkdir("tmp", mode=0o1777)
    mkdir("empty-dir")
    mkdir("etc", xattrs=[("user.dir-note", b"on a directory")])
    put("etc/conf", b"key=value\n" * 40, xattrs=[("user.note", b"xattr value"),
                                                   ("user.empty", b"")])
    put("etc/name with space", b"space\n")
    put("etc/\u00fcn\u00efc\u00f8de", b"utf-8 name\n")
    # Hard links.
    put("usr/lib/link-a", rnd.randbytes(7000))
    os.link(os.path.join(root, "usr/lib/link-a"), os.path.join(root, "usr/lib/link-b"))
    # Symbolic links: relative, absolute, dangling, to a directory.
    os.symlink("lib/large", os.path.join(root, "usr/rel-link"))
    os.symlink("/etc/conf", os.path.join(root, "abs-link"))
    os.symlink("does/not/exist", os.path.join(root, "dangling"))
    os.symlink("usr/lib", os.path.join(root, "lib"))
    # A directory of two blocks of entries, small files.
    for i in range(150):
        put("usr/share/many/entry-with-a-longer-name-%03d" % i, b"entry %d\n" % i)
    # Deep nesting.
    put("a/b/c/d/e/f/g/h/leaf", rnd.randbytes(2000))
    # Fixed times (composefs-rs records them), so that the images are the
    # same on every run.
    for top, dirs, files in os.walk(root, topdown=False):
        for n in dirs + files:
            os.utime(os.path.join(top, n), (1700000000, 1700000000), follow_symlinks=False)
    os.utime(root, (1700000000, 1700000000))


# --- container layers ---

class Layers:
    def __init__(self, out):
        self.out = out
        self.rnd = random.Random(3)
        os.makedirs(os.path.join(out, "objects"))

    def obj(self, data):
        """Stores DATA by its sha256 and returns (payload, fs-verity digest)."""
        h = hashlib.sha256(data).hexdigest()
        rel = "%s/%s" % (h[:2], h[2:])
        p = os.path.join(self.out, "objects", rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
        # The fs-verity digest from fsverity-utils, so that a mistake here
        # cannot agree with the kernel by construction.
        digest = subprocess.run(["fsverity", "digest", "--compact", p], check=True,
                                capture_output=True, text=True).stdout.strip()
        return rel, digest


def esc(s):
    out = []
    for b in s.encode():
        out.append("\\x%02x" % b if b <= 0x20 or b >= 0x7F or b in b"\\=" else chr(b))
    return "".join(out)


def layers(out):
    L = Layers(out)
    # Each layer: list of (path, kind, data_or_target, mode, xattrs).
    # kind: dir, file, link, whiteout. An "opaque" dir has
    # trusted.overlay.opaque=y, as containers-storage writes a layer's
    # ".wh..wh..opq".
    r = L.rnd
    defs = [
        [  # layer 1: the base
            ("/etc", "dir", None, 0o755, []),
            ("/etc/conf", "file", b"base conf\n", 0o644, [("user.layer", "1")]),
            ("/etc/removed", "file", r.randbytes(3000), 0o644, []),
            ("/etc/small", "file", b"small inline\n", 0o644, []),
            ("/usr", "dir", None, 0o755, []),
            ("/usr/bin", "dir", None, 0o755, []),
            ("/usr/bin/tool", "file", r.randbytes(9000), 0o755, []),
            ("/usr/lib", "dir", None, 0o755, []),
            ("/usr/lib/libx.so", "file", r.randbytes(20000), 0o644, []),
            ("/opt", "dir", None, 0o755, []),
            ("/opt/old", "dir", None, 0o755, []),
            ("/opt/old/a", "file", r.randbytes(500), 0o644, []),
            ("/opt/old/b", "file", r.randbytes(600), 0o644, []),
            ("/var", "dir", None, 0o755, []),
            ("/var/lib", "dir", None, 0o755, []),
            ("/var/lib/app", "dir", None, 0o750, []),
            ("/var/lib/app/state", "file", r.randbytes(1500), 0o640, []),
            ("/link", "link", "usr/lib/libx.so", 0o777, []),
        ],
        [  # layer 2: changes a file, deletes one, replaces a directory
            ("/etc", "dir", None, 0o755, []),
            ("/etc/conf", "file", b"layer 2 conf\n" * 10, 0o600, [("user.layer", "2")]),
            ("/etc/removed", "whiteout", None, 0, []),
            ("/opt", "dir", None, 0o755, []),
            ("/opt/old", "opaque", None, 0o755, []),
            ("/opt/old/c", "file", r.randbytes(700), 0o644, []),
            ("/usr", "dir", None, 0o755, []),
            ("/usr/lib", "dir", None, 0o755, []),
            ("/usr/lib/liby.so", "file", r.randbytes(12000), 0o644, []),
        ],
        [  # layer 3: deletes a directory, turns a file into a link, adds a tree
            ("/var", "dir", None, 0o755, []),
            ("/var/lib", "dir", None, 0o755, []),
            ("/var/lib/app", "whiteout", None, 0, []),
            ("/usr", "dir", None, 0o755, []),
            ("/usr/bin", "dir", None, 0o755, []),
            ("/usr/bin/tool", "link", "../lib/liby.so", 0o777, []),
            ("/srv", "dir", None, 0o755, []),
            ("/srv/www", "dir", None, 0o755, []),
            ("/srv/www/index", "file", r.randbytes(4096), 0o644, []),
            ("/srv/www/same-as-libx", "file", None, 0o644, []),  # content of layer 1's libx
        ],
    ]
    libx = defs[0][8][2]
    merged = {}
    for n, layer in enumerate(defs, 1):
        lines = ["/ 4096 40755 2 0 0 0 0.0 - - -"]
        for path, kind, data, mode, xattrs in layer:
            if kind == "file" and data is None:
                data = libx
            xs = " ".join("%s=%s" % (esc(k), esc(v)) for k, v in xattrs)
            if kind in ("dir", "opaque"):
                if kind == "opaque":
                    xs = (xs + " " if xs else "") + "trusted.overlay.opaque=y"
                f = [esc(path), "4096", "%o" % (0o40000 | mode), "2", "0", "0", "0",
                     "0.0", "-", "-", "-"]
            elif kind == "file":
                if len(data) <= 64:
                    f = [esc(path), str(len(data)), "%o" % (0o100000 | mode), "1", "0",
                         "0", "0", "0.0", "-", esc(data.decode()), "-"]
                else:
                    rel, digest = L.obj(data)
                    f = [esc(path), str(len(data)), "%o" % (0o100000 | mode), "1", "0",
                         "0", "0", "0.0", rel, "-", digest]
            elif kind == "link":
                f = [esc(path), str(len(data)), "120777", "1", "0", "0", "0", "0.0",
                     esc(data), "-", "-"]
            else:  # whiteout: a character device 0:0
                f = [esc(path), "0", "20000", "1", "0", "0", "0", "0.0", "-", "-", "-"]
            lines.append(" ".join(f) + (" " + xs if xs else ""))
            # The merged view, by overlayfs's rules.
            if kind == "whiteout":
                for p in [p for p in merged if p == path or p.startswith(path + "/")]:
                    del merged[p]
            elif kind == "opaque":
                for p in [p for p in merged if p.startswith(path + "/")]:
                    del merged[p]
                merged[path] = "d"
            elif kind == "dir":
                if merged.get(path, "d") != "d":
                    # A directory over a non-directory replaces it.
                    del merged[path]
                merged[path] = "d"
            elif kind == "file":
                merged[path] = "f " + hashlib.md5(data).hexdigest()
            else:
                merged[path] = "l " + data
        with open(os.path.join(out, "layer%d.dump" % n), "w") as f:
            f.write("\n".join(lines) + "\n")
    with open(os.path.join(out, "merged.txt"), "w") as f:
        for p in sorted(merged, key=lambda s: s.encode()):
            f.write(".%s %s\n" % (p, merged[p]))


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("tree", "layers"):
        sys.exit("usage: gen-writer-data.py tree|layers DIR")
    if sys.argv[1] == "tree":
        tree(sys.argv[2])
    else:
        layers(sys.argv[2])


if __name__ == "__main__":
    main()
