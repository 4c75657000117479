#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR MIT
# Writes the composefs dump files the fuzz seed images are built from, into the
# directory given as argument. Small trees, each covering some of the format.
import os, sys

out = sys.argv[1]
D = "35d02f81325122d77ec1d11baba655bc9bf8a891ab26119a41c50fa03ddfb408"
E = "a8fcd41f8b313bede69f462f2af0a38d64b99a6333f5df884ea9ab4037fac722"

def ext(path, size, digest, extra="-"):
    return f"{path} {size} 100644 1 0 0 0 100.0 {digest[:2]}/{digest[2:]} - {digest} {extra}".rstrip(" -") + "\n"

dumps = {}
dumps["empty"] = "/ 0 40755 2 0 0 0 0.0 - - -\n"
dumps["basic"] = (
    "/ 4096 40755 3 0 0 0 100.7 - - - user.root=1\n"
    "/a 5 100644 1 0 0 0 100.7 - hello - user.x=y trusted.overlay.nested=z\n"
    + ext("/b", 100, D) + ext("/c", 70000, E)
    + "/l 3 120777 1 0 0 0 0.0 foo - -\n"
    "/w 0 20000 1 0 0 0 0.0 - - -\n"
    "/dev 0 20644 1 0 0 1025 0.0 - - -\n"
    "/fifo 0 10644 1 0 0 0 0.0 - - -\n"
    "/sock 0 140644 1 0 0 0 0.0 - - -\n"
    "/d 4096 40755 2 70000 0 0 0.0 - - -\n"
    "/d/x 3 100600 1 0 0 0 0.0 - abc - user.shared=v\n"
    "/d/y 3 100600 1 0 0 0 0.0 - abd - user.shared=v\n"
)
s = "/ 4096 40755 3 0 0 0 0.0 - - -\n/big 4096 40755 2 0 0 0 0.0 - - -\n"
for i in range(150):
    s += f"/big/entry-with-a-fairly-long-name-{i:04} {i % 5} 100644 1 0 0 0 0.0 - {'q' * (i % 5)} -\n"
dumps["bigdir"] = s
s = "/ 4096 40755 3 0 0 0 0.0 - - -\n"
s += f"/long1 3000 120777 1 0 0 0 0.0 {'t' * 3000} - -\n"
s += f"/long2 4000 120777 1 0 0 0 0.0 {'/u' * 2000} - -\n"
s += "/abs 9 120777 1 0 0 0 0.0 /etc/foo - -\n"
p = ""
for i in range(8):
    p += f"/n{i}"
    s += f"{p} 4096 40755 {3 if i < 7 else 2} {i} {i} 0 {i}.{i} - - -\n"
s += f"{p}/file 4000 100644 2 0 0 0 0.0 - {'z' * 4000} -\n"
s += f"/hard 4000 @100644 2 0 0 0 0.0 {p}/file - -\n"
s += "/tail 6000 100644 1 0 0 0 0.0 - " + "w" * 5000 + " -\n".replace("6000", "5000")
dumps["symlinks"] = s.replace("/tail 6000", "/tail 5000")
s = "/ 4096 40755 2 0 0 0 0.0 - - - trusted.overlay.opaque=y\n"
s += "/acl 0 100644 1 5000000 6000000 0 1700000000.123 - - - system.posix_acl_access=\\x02\\x00\\x00\\x00\\x01\\x00\\x06\\x00\\xff\\xff\\xff\\xff\\x04\\x00\\x04\\x00\\xff\\xff\\xff\\xff\\x20\\x00\\x04\\x00\\xff\\xff\\xff\\xff security.selinux=system_u:object_r:etc_t:s0\n"
s += "/many 0 100644 1 0 0 0 0.0 - - - " + " ".join(f"user.k{i}=v{i}" for i in range(40)) + " trusted.overlay.overlay.whiteout= user.overlay.whiteout=\n"
s += "/odd 0 100644 1 0 0 0 0.0 - - - lustre.x=1 weird.name=2 trusted.a=" + "x" * 300 + "\n"
s += ext("/huge", 1 << 40, D)
s += ext("/tiny", 1, E)
dumps["xattrs"] = s
os.makedirs(out, exist_ok=True)
for k, v in dumps.items():
    with open(os.path.join(out, k + ".dump"), "w") as f:
        f.write(v)
