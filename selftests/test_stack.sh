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
		# (The guest has no setfattr: cfs-op makes the call.)
		cfs-op setxattr /mnt/ovl-$m/shared-00 user.added 1 >"$w/setxattr.$m" 2>&1
		echo "setxattr: $?" >>"$w/setxattr.$m"
		rm -f /mnt/ovl-$m/security
	done
	# The root comes from each overlay's own upper directory: its times differ.
	# Written entries carry the time of the write: leave times out.
	notimes='1d; s/ mtime=[^ ]* ctime=[^ ]*//'
	cfs-walk /mnt/ovl-ref | sed "$notimes" >"$w/ref.txt"
	cfs-walk /mnt/ovl-cfs | sed "$notimes" >"$w/cfs.txt"
	same_output "after writes, copy-ups and deletes the overlays agree" "$w/ref.txt" "$w/cfs.txt"
	same_output "setxattr on a lower file (copy-up) gives the reference's result" "$w/setxattr.ref" "$w/setxattr.cfs"
	check "the copied-up file has the new xattr" grep -q 'shared-00 .*xattr:user.added=31' "$w/cfs.txt"
	check "the composefs layer itself is unchanged" sh -c '[ "$(cat /mnt/cfs/many)" = m ]'
	cfs-mount -u /mnt/ovl-cfs
	cfs-mount -u /mnt/ovl-ref

	# index=on and nfs_export=on need a lower layer whose file handles
	# decode (ovl_can_decode_fh, fs/overlayfs/super.c), else overlayfs falls
	# back to index=off,nfs_export=off. composefs decodes its handles; the
	# reference stack's overlayfs (no nfs_export) only encodes them: a
	# listed difference (composefs.rst), checked here on both.
	for m in cfs ref; do
		mkdir -p "$w/idx-$m/upper" "$w/idx-$m/work" /mnt/idx-$m
		cfs-mount -w -t overlay -o "lowerdir=/mnt/$m,upperdir=$w/idx-$m/upper,workdir=$w/idx-$m/work,index=on,nfs_export=on" \
			overlay /mnt/idx-$m
		opts=$(awk -v m=/mnt/idx-$m '$2 == m { print $4 }' /proc/mounts)
		echo "$opts" | grep -o 'index=o[nf]*' >"$w/idx.$m"
		echo "$opts" | grep -o 'nfs_export=o[nf]*' >>"$w/idx.$m"
		echo "# overlayfs index=on,nfs_export=on over $m: $(tr '\n' ' ' <"$w/idx.$m")"
	done
	# (overlayfs lists index= only when it is not the default, off.)
	check "reference: overlayfs over the reference falls back to index=off" \
		sh -c "grep -q ' /mnt/idx-ref ' /proc/mounts && ! grep -q 'index=on' '$w/idx.ref'"
	check "overlayfs over composefs keeps index=on,nfs_export=on" \
		sh -c "grep -q 'index=on' '$w/idx.cfs' && grep -q 'nfs_export=on' '$w/idx.cfs'"
	echo upper >/mnt/idx-cfs/new-file
	check "file handles through that overlay reopen (lower and upper files, dirs)" \
		cfs-handle /mnt/idx-cfs /mnt/idx-cfs/many /mnt/idx-cfs/acl-dir /mnt/idx-cfs/new-file
	cfs-mount -u /mnt/idx-cfs
	cfs-mount -u /mnt/idx-ref

	check "file handles of files, dirs and symlinks reopen" \
		cfs-handle /mnt/cfs /mnt/cfs/many /mnt/cfs/acl-dir /mnt/cfs/acl-dir/plain /mnt/cfs/xsym /mnt/cfs
	check "fanotify in FID mode reports handles of composefs files" cfs-fanotify /mnt/cfs /mnt/cfs/many
	# Decoding instantiates only inodes the tree reaches: handles forged for
	# every inode slot of the image open exactly the inodes a walk stats.
	find /mnt/cfs | while read -r p; do stat -c %i "$p" 2>/dev/null; done | sort -un >"$w/reached"
	cfs-handle -n /mnt/cfs 0 $(($(stat -c %s "$w/img.cfs") / 32)) | awk '$2 == "ok" { print $1 }' |
		sort -un >"$w/decoded"
	echo "# $(wc -l <"$w/reached") inodes reached, $(wc -l <"$w/decoded") decoded from forged handles"
	same_output "forged handles decode exactly the inodes the tree reaches" "$w/reached" "$w/decoded"
	# An inode that decodes but that no directory entry names any more:
	# the entry of d/bbbb2 is made to name d/aaaa1's inode (its nid copied
	# over in place), so bbbb2's inode is unreachable; its handle must not
	# decode.
	printf '/ 4096 40755 3 0 0 0 0.0 - - -\n/d 4096 40755 2 0 0 0 0.0 - - -\n/d/aaaa1 1 100644 1 0 0 0 0.0 - a -\n/d/bbbb2 1 100644 1 0 0 0 0.0 - b -\n' >"$w/orphan.dump"
	mkcomposefs --from-file "$w/orphan.dump" "$w/orphan.cfs"
	cfs-mount -t composefs "$w/orphan.cfs" /mnt/idx-cfs
	orphan=$(stat -c %i /mnt/idx-cfs/d/bbbb2)
	cfs-mount -u /mnt/idx-cfs
	# The names of d follow its four 12-byte entries (., .., aaaa1, bbbb2).
	blk=$(($(strings -t d -n 8 "$w/orphan.cfs" | awk '/aaaa1bbbb2/ { print $1; exit }') - 48))
	dd if="$w/orphan.cfs" of="$w/orphan.cfs" bs=1 skip=$((blk + 24)) seek=$((blk + 36)) count=8 conv=notrunc 2>/dev/null
	cfs-mount -t composefs "$w/orphan.cfs" /mnt/idx-cfs
	check "the orphaned image: d/bbbb2 now names aaaa1's inode" \
		[ "$(stat -c %i /mnt/idx-cfs/d/bbbb2)" = "$(stat -c %i /mnt/idx-cfs/d/aaaa1)" ]
	res=$(cfs-handle -n /mnt/idx-cfs "$orphan" "$orphan")
	echo "# handle of the unreachable inode $orphan: $res"
	check "a handle of an inode no entry reaches does not decode (ESTALE)" [ "$res" = "$orphan 116" ]
	cfs-mount -u /mnt/idx-cfs
	# A handle outlives the dentry cache.
	echo 2 >/proc/sys/vm/drop_caches
	check "file handles reopen after the caches were dropped" cfs-handle /mnt/cfs /mnt/cfs/shared-29
	cfs-mount -u /mnt/cfs
	ref_umount /mnt/ref
else
	ktap_result fail "mount composefs and the reference"
fi
ktap_finish
