#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# composefs as the lower layer of a container's overlayfs (with an upper
# directory), compared with the same overlay stacked on the reference stack:
# escaped whiteouts and opaque directories of the image take effect in the
# upper overlay, copy-up works. Also file handles (name_to_handle_at and
# open_by_handle_at) and fanotify events that carry them.
. ./lib.sh
load_module

w=/scratch/stack
mkdir -p "$w/store" /mnt/cfs /mnt/ref /mnt/ovl-cfs /mnt/ovl-ref
mkcomposefs --from-file /attach/testdata/xattrs.dump "$w/img.cfs"

# container_overlay LOWER TARGET NAME: a writable overlay over LOWER.
container_overlay() {
	mkdir -p "$w/$3/upper" "$w/$3/work"
	cfs-mount -w -t overlay -o "lowerdir=$1,upperdir=$w/$3/upper,workdir=$w/$3/work" overlay "$2"
}

if ref_mount "$w/img.cfs" /mnt/ref "$w/store" &&
	cfs-mount -t composefs -o "basedir=$w/store" "$w/img.cfs" /mnt/cfs; then
	check "overlayfs with an upper dir over composefs" container_overlay /mnt/cfs /mnt/ovl-cfs cfs
	check "overlayfs with an upper dir over the reference" container_overlay /mnt/ref /mnt/ovl-ref ref
	# The root comes from each overlay's own upper directory: its times differ.
	cfs-walk /mnt/ovl-ref | sed 1d >"$w/ref.txt"
	cfs-walk /mnt/ovl-cfs | sed 1d >"$w/cfs.txt"
	same_output "stacked overlay sees the same tree (whiteouts, opaque dirs)" "$w/ref.txt" "$w/cfs.txt"
	[ -e /mnt/ovl-ref/wh/whiteout ] && ref_sees=yes || ref_sees=no
	[ -e /mnt/ovl-cfs/wh/whiteout ] && cfs_sees=yes || cfs_sees=no
	echo "# escaped whiteout visible through the stacked overlay: reference $ref_sees, composefs $cfs_sees"
	check "escaped whiteout acts as in the reference stack" [ $ref_sees = $cfs_sees ]
	for m in cfs ref; do
		echo new >/mnt/ovl-$m/new-file
		echo changed >>/mnt/ovl-$m/many
		setfattr -n user.added -v 1 /mnt/ovl-$m/shared-00 2>/dev/null
		rm -f /mnt/ovl-$m/security
	done
	# The root comes from each overlay's own upper directory: its times differ.
	# Written entries carry the time of the write: leave times out.
	notimes='1d; s/ mtime=[^ ]* ctime=[^ ]*//'
	cfs-walk /mnt/ovl-ref | sed "$notimes" >"$w/ref.txt"
	cfs-walk /mnt/ovl-cfs | sed "$notimes" >"$w/cfs.txt"
	same_output "after writes, copy-ups and deletes the overlays agree" "$w/ref.txt" "$w/cfs.txt"
	check "the composefs layer itself is unchanged" sh -c '[ "$(cat /mnt/cfs/many)" = m ]'
	cfs-mount -u /mnt/ovl-cfs
	cfs-mount -u /mnt/ovl-ref

	check "file handles of files, dirs and symlinks reopen" \
		cfs-handle /mnt/cfs /mnt/cfs/many /mnt/cfs/acl-dir /mnt/cfs/acl-dir/plain /mnt/cfs/xsym /mnt/cfs
	check "fanotify in FID mode reports handles of composefs files" cfs-fanotify /mnt/cfs /mnt/cfs/many
	# A handle outlives the dentry cache.
	echo 2 >/proc/sys/vm/drop_caches
	check "file handles reopen after the caches were dropped" cfs-handle /mnt/cfs /mnt/cfs/shared-29
	cfs-mount -u /mnt/cfs
	ref_umount /mnt/ref
else
	ktap_result fail "mount composefs and the reference"
fi
ktap_finish
