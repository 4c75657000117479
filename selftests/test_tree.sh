#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Differential test of the tree: every test image, built by the project's
# mkcomposefs (v0 and v1) and by the reference mkcomposefs, is mounted with
# `mount -t composefs` and through EROFS + overlayfs; cfs-walk's view of
# both (names, readdir order, d_type, stat fields but ino/dev, symlink
# targets, xattrs, contents by read and mmap, errnos, hard-link identity)
# must be identical. The store is empty, so external files show the errno
# of a missing object.
. ./lib.sh
load_module

td=/attach/testdata
w=/scratch/tree
mkdir -p "$w/store" /mnt/cfs /mnt/ref

# compare_image LABEL IMAGE: composefs vs the reference for one image.
compare_image() {
	local label=$1 img=$2
	if ! ref_mount "$img" /mnt/ref "$w/store"; then
		ktap_result fail "$label: reference stack mounts"
		return
	fi
	cfs-walk /mnt/ref >"$w/ref.txt"
	ref_umount /mnt/ref
	if ! cfs-mount -t composefs -o "basedir=$w/store" "$img" /mnt/cfs; then
		ktap_result fail "$label: composefs mounts"
		return
	fi
	cfs-walk /mnt/cfs >"$w/cfs.txt"
	cfs-mount -u /mnt/cfs
	same_output "$label: tree equals the reference" "$w/ref.txt" "$w/cfs.txt"
}

for dump in "$td"/*.dump; do
	name=$(basename "$dump" .dump)
	for v in 0 1; do
		img=$w/$name-v$v.cfs
		if ! mkcomposefs --from-file --min-version=$v "$dump" "$img"; then
			ktap_result fail "$name v$v: mkcomposefs builds the image"
			continue
		fi
		check "$name v$v: image identical to the reference mkcomposefs's" \
			cmp "$img" "$td/$name-ref-v$v.cfs"
		compare_image "$name v$v" "$img"
	done
	# The reference tool's own image, straight from the initramfs (not on
	# /scratch): composefs reads images from any filesystem.
	if cfs-mount -t composefs -o "basedir=$w/store" "$td/$name-ref-v1.cfs" /mnt/cfs; then
		cfs-walk /mnt/cfs >"$w/cfs-ramfs.txt"
		cfs-mount -u /mnt/cfs
		# $w/ref.txt is the reference view of the identical v1 image.
		same_output "$name: reference-built image from the initramfs equals the reference" \
			"$w/ref.txt" "$w/cfs-ramfs.txt"
	else
		ktap_result fail "$name: reference-built image mounts from the initramfs"
	fi
done

# st_blocks, compared before anything is opened (with -n the walks open no
# file): the reference reports EROFS's round_up(size, 4096) >> 9 for inline
# files and, until a metacopy file's data is opened, the same guess for it
# (ovl_getattr, fs/overlayfs/inode.c); composefs reports that every time.
# (After an open overlayfs reports the data file's own blocks: see
# "Differences from EROFS + overlayfs" in composefs.rst.)
for v in 0 1; do
	img=$w/types-v$v.cfs
	if ref_mount "$img" /mnt/ref "$w/store" && cfs-mount -t composefs -o "basedir=$w/store" "$img" /mnt/cfs; then
		cfs-walk -n -b /mnt/ref >"$w/ref-blocks.txt"
		cfs-walk -n -b /mnt/cfs >"$w/cfs-blocks.txt"
		same_output "types v$v: st_blocks equal the reference's before any open" \
			"$w/ref-blocks.txt" "$w/cfs-blocks.txt"
		set -- $(stat -c '%s %b' /mnt/cfs/inline-4097)
		check "types v$v: inline-4097 has round_up(4097, 4096) >> 9 = 16 blocks ($2)" [ "$2" = 16 ]
	else
		ktap_result fail "types v$v: st_blocks: both stacks mount"
	fi
	grep -q ' /mnt/cfs ' /proc/mounts && cfs-mount -u /mnt/cfs
	grep -q ' /mnt/ref ' /proc/mounts && ref_umount /mnt/ref
done

# Raw overlay xattrs, which mkcomposefs never writes (it escapes every
# trusted.overlay.* of its input) but a crafted image may carry: the dump
# gives the entries user.overlay.* xattrs, which cfs-mutate raw-overlay
# turns into trusted.overlay.* in the image. overlayfs reads them at lookup
# (ovl_lookup_single, fs/overlayfs/namei.c): a directory's redirect, unless
# it is opaque ('y'), must be well-formed or the lookup fails with EINVAL
# (ovl_get_redirect_xattr); an empty regular file with a whiteout xattr is
# a whiteout (ovl_path_is_whiteout); a directory with an origin is merged
# (ovl_get_inode), so its listing drops whiteouts, and if it is also opaque
# 'x', whiteout files (ovl_cache_update, fs/overlayfs/readdir.c).
cat >"$w/raw.dump" <<'EOF'
/ 4096 40755 2 0 0 0 0.0 - - -
/d-abs 4096 40755 2 0 0 0 0.0 - - - user.overlay.redirect=/a/b
/d-rel 4096 40755 2 0 0 0 0.0 - - - user.overlay.redirect=rel
/d-nul 4096 40755 2 0 0 0 0.0 - - - user.overlay.redirect=\x00/x
/d-bad-rel 4096 40755 2 0 0 0 0.0 - - - user.overlay.redirect=a/b
/d-bad-double 4096 40755 2 0 0 0 0.0 - - - user.overlay.redirect=//a
/d-bad-trailing 4096 40755 2 0 0 0 0.0 - - - user.overlay.redirect=/a/
/d-bad-root 4096 40755 2 0 0 0 0.0 - - - user.overlay.redirect=/
/d-bad-empty 4096 40755 2 0 0 0 0.0 - - - user.overlay.redirect=
/d-opaque-bad 4096 40755 2 0 0 0 0.0 - - - user.overlay.opaque=y user.overlay.redirect=//a
/d-opaque-n-bad 4096 40755 2 0 0 0 0.0 - - - user.overlay.opaque=n user.overlay.redirect=//a
/d-plain 4096 40755 2 0 0 0 0.0 - - -
/d-plain/wf 0 100644 1 0 0 0 0.0 - - - user.overlay.whiteout=
/d-plain/file 1 100644 1 0 0 0 0.0 - p - user.overlay.whiteout=
/d-origin 4096 40755 2 0 0 0 0.0 - - - user.overlay.origin=
/d-origin/wf 0 100644 1 0 0 0 0.0 - - - user.overlay.whiteout=
/d-origin/dev 0 20644 1 0 0 0 0.0 - - -
/d-x 4096 40755 2 0 0 0 0.0 - - - user.overlay.origin=o user.overlay.opaque=x
/d-x/wf 0 100644 1 0 0 0 0.0 - - - user.overlay.whiteout=
/d-x/empty 0 100644 1 0 0 0 0.0 - - -
/d-x/file 1 100644 1 0 0 0 0.0 - q - user.overlay.whiteout=
/d-x-no-origin 4096 40755 2 0 0 0 0.0 - - - user.overlay.opaque=x
/d-x-no-origin/wf 0 100644 1 0 0 0 0.0 - - - user.overlay.whiteout=
/wf-root 0 100644 1 0 0 0 0.0 - - - user.overlay.whiteout=
EOF
# overlayfs does not limit a redirect's length at lookup: a well-formed one
# of 4,200 bytes is taken, a malformed one refused.
long=/$(printf '%04200d' 0 | tr 0 a)
printf '/d-long 4096 40755 2 0 0 0 0.0 - - - user.overlay.redirect=%s\n/d-long-bad 4096 40755 2 0 0 0 0.0 - - - user.overlay.redirect=%s//\n' \
	"$long" "$long" >>"$w/raw.dump"
for v in 0 1; do
	img=$w/raw-v$v.cfs
	if mkcomposefs --from-file --min-version=$v "$w/raw.dump" "$img" &&
		cfs-mutate raw-overlay "$img" | grep -q ' [1-9][0-9]* raw overlay xattrs'; then
		compare_image "raw overlay xattrs v$v" "$img"
	else
		ktap_result fail "raw overlay xattrs v$v: the image is built"
	fi
done
# The comparison above holds composefs to what the reference gives; these
# check that the image exercises it.
if ref_mount "$w/raw-v1.cfs" /mnt/ref "$w/store"; then
	check "raw overlay xattrs: the reference fails a malformed directory redirect with EINVAL" \
		sh -c 'stat /mnt/ref/d-bad-double 2>&1 | grep -q "Invalid argument"'
	check "raw overlay xattrs: the reference takes an opaque directory's redirect as it is" \
		stat /mnt/ref/d-opaque-bad
	check "raw overlay xattrs: the reference takes a well-formed 4,200-byte directory redirect" \
		stat /mnt/ref/d-long
	check "raw overlay xattrs: the reference hides a whiteout file from lookup, not from a plain listing" \
		sh -c 'ls /mnt/ref/d-plain 2>&1 | grep -q "d-plain/wf: No such file or directory"'
	check "raw overlay xattrs: the reference drops whiteout files from a merged opaque-x directory" \
		sh -c '[ "$(ls /mnt/ref/d-x | tr "\n" " ")" = "empty file " ]'
	ref_umount /mnt/ref
else
	ktap_result fail "raw overlay xattrs: the reference stack mounts"
fi

ktap_finish
