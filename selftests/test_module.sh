#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Module life cycle: load, filesystem registration, refusal to unload while
# mounted, clean unload (vm-run's kmemleak scan covers leaks) and reload.
. ./lib.sh

check "modprobe composefs" modprobe composefs
check "/proc/filesystems lists nodev composefs" grep -q '^nodev[[:space:]]composefs$' /proc/filesystems

mkdir -p /scratch/module /mnt/cfs
mkcomposefs --from-file /attach/testdata/types.dump /scratch/module/img.cfs
if cfs-mount -t composefs /scratch/module/img.cfs /mnt/cfs; then
	check "rmmod while mounted is refused" sh -c '! rmmod composefs 2>/dev/null'
	check "the module is still loaded" grep -q '^composefs ' /proc/modules
	check "the mount still works" cat /mnt/cfs/inline-1
	check "umount" cfs-mount -u /mnt/cfs
else
	ktap_result fail "mount for the rmmod test"
fi
check "rmmod after unmount" rmmod composefs
check "the type is unregistered" sh -c '! grep -q composefs /proc/filesystems'
check "modprobe again" modprobe composefs
check "mount after reload" cfs-mount -t composefs /scratch/module/img.cfs /mnt/cfs
cfs-mount -u /mnt/cfs
check "final rmmod" rmmod composefs
ktap_finish
