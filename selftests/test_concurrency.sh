#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Parallel walkers (readdir, lookup, stat, getxattr, read, mmap, splice) on
# one mount from several processes, on the debug kernel with lockdep: every
# walker must see the same tree, and vm-run fails the run on any lockdep,
# KFENCE or kmemleak report.
. ./lib.sh
load_module

# The races below need two CPUs to be races at all (vm-run boots 2 vCPUs;
# a guest kernel without ACPI sees only the boot CPU).
cpus=$(grep -c '^processor' /proc/cpuinfo)
given=$(cat /etc/vm-cpus 2>/dev/null || echo 2)
if [ "$given" -ge 2 ]; then
	check "the guest runs on $cpus CPUs (at least 2)" [ "$cpus" -ge 2 ]
else
	skip "the guest runs on at least 2 CPUs" "vm-run gave it $given"
fi

w=/scratch/concurrency
mkdir -p "$w" /mnt/cfs
for name in names xattrs types; do
	mkcomposefs --from-file "/attach/testdata/$name.dump" "$w/$name.cfs"
done
if cfs-mount -t composefs -o "basedir=$w" "$w/names.cfs" /mnt/cfs; then
	cfs-walk /mnt/cfs >"$w/expected"
	# Fresh inodes and dentries for the racing walkers.
	echo 2 >/proc/sys/vm/drop_caches
	for i in 1 2 3 4; do
		(for round in 1 2; do cfs-walk /mnt/cfs >"$w/walk.$i.$round"; done) &
	done
	(for round in 1 2 3 4; do echo 2 >/proc/sys/vm/drop_caches; sleep 1; done) &
	wait
	ok=1
	for f in "$w"/walk.*; do cmp -s "$w/expected" "$f" || { echo "# $f differs"; ok=0; }; done
	check "four parallel walkers with cache drops see the same tree" [ $ok = 1 ]
	cfs-mount -u /mnt/cfs
else
	ktap_result fail "mount for the parallel walkers"
fi

# Mount and unmount racing with walkers of other mounts of other images.
pids=
for name in xattrs types; do
	mkdir -p "/mnt/$name"
	(for round in 1 2 3 4 5; do
		cfs-mount -t composefs -o "basedir=$w" "$w/$name.cfs" "/mnt/$name" || exit 1
		cfs-walk "/mnt/$name" >/dev/null
		cfs-mount -u "/mnt/$name" || exit 1
	done) &
	pids="$pids $!"
done
ok=1
for p in $pids; do wait "$p" || ok=0; done
check "concurrent mount/walk/umount cycles of two images" [ $ok = 1 ]
# Lazy unmount under readers of backed files: opens, reads, mmaps and
# splices in flight keep the superblock and the backing files alive; once
# the last reader is gone the module unloads.
mkdir -p "$w/src" /mnt/lazy
for i in 1 2 3 4 5 6 7 8; do head -c $((i * 50000)) /dev/urandom >"$w/src/f$i"; done
mkcomposefs --digest-store="$w/store" "$w/src" "$w/lazy.cfs"
if cfs-mount -t composefs -o "basedir=$w/store" "$w/lazy.cfs" /mnt/lazy; then
	pids=
	for i in 1 2 3 4; do
		(end=$(($(date +%s) + 4))
		while [ "$(date +%s)" -lt "$end" ]; do
			cat /mnt/lazy/f* >/dev/null 2>&1
			cfs-walk /mnt/lazy >/dev/null 2>&1
		done) &
		pids="$pids $!"
	done
	(exec 3</mnt/lazy/f8; sleep 5; cat <&3 | cmp -s - "$w/src/f8") &
	holder=$!
	sleep 2
	check "lazy unmount while readers are busy" cfs-mount -u -l /mnt/lazy
	for p in $pids; do wait "$p"; done
	check "a file opened before the lazy unmount still reads its data" wait "$holder"
	check "after the last reader, the module unloads" rmmod composefs
	modprobe composefs
else
	ktap_result fail "mount for the lazy unmount test"
fi
ktap_finish
