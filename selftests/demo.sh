#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# `make demo`, guest side: build an image and an fs-verity object store from
# a small tree, mount it with one trusted digest, use it, and show what
# happens when an object is tampered with.
set -e
say() { printf '\n### %s\n' "$*"; }
run() { echo "\$ $*"; "$@"; }

modprobe composefs
cd /scratch
mkdir -p src/etc src/usr/bin
echo "composefs demo" >src/etc/motd
head -c 300000 /dev/urandom >src/usr/bin/blob
cp /bin/busybox src/usr/bin/busybox
ln -s etc/motd src/motd-link

say "Build the image and the object store (objects named by their fs-verity digest)"
run mkcomposefs --digest-store=/scratch/objects src image.cfs
digest=$(cfs-verity enable image.cfs >/dev/null; cfs-verity measure image.cfs | cut -d: -f2)
echo "image fs-verity digest: $digest"
run composefs-info ls image.cfs

say "Mount it: one mount, the digest pins the image and through it every file"
mkdir -p /mnt/demo
run cfs-mount -t composefs -o "basedir=/scratch/objects,digest=$digest" image.cfs /mnt/demo
grep ' /mnt/demo ' /proc/mounts
run ls -l /mnt/demo /mnt/demo/usr/bin
run cat /mnt/demo/motd-link
run /mnt/demo/usr/bin/busybox echo "a binary ran from composefs"
run cmp /mnt/demo/usr/bin/blob src/usr/bin/blob && echo "contents match the source"
run stat -f /mnt/demo

say "Tamper with an object: the open fails, the kernel says which file"
run cfs-mount -u /mnt/demo
obj=/scratch/objects/$(composefs-info dump image.cfs | awk '$1 == "/usr/bin/blob" { print $9 }')
rm -f "$obj"
head -c 300000 /dev/zero >"$obj"
run cfs-mount -t composefs -o "basedir=/scratch/objects,digest=$digest" image.cfs /mnt/demo
echo "\$ cat /mnt/demo/usr/bin/blob"
if cat /mnt/demo/usr/bin/blob >/dev/null; then echo "unexpected: read succeeded"; exit 1; fi
dmesg | grep composefs | tail -n 1

say "A wrong image digest refuses the mount"
run cfs-mount -u /mnt/demo
wrong=$(echo "$digest" | tr 0-9a-f 1-9a-f0)
echo "\$ cfs-mount -t composefs -o basedir=/scratch/objects,digest=$wrong image.cfs /mnt/demo"
if cfs-mount -t composefs -o "basedir=/scratch/objects,digest=$wrong" image.cfs /mnt/demo; then
	echo "unexpected: mounted"; exit 1
fi
dmesg | grep composefs | tail -n 1
run rmmod composefs
say "Done"
