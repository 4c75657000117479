#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# What composefs does on behalf of its users, compared with the reference
# stack (EROFS + overlayfs): reads never touch the atime of backing objects,
# fcntl(F_SETFL) changes reach the backing file,
# image files on stacked filesystems are refused with EROFS's errno, and a
# block device source is claimed so that nobody writes to it while mounted.
. ./lib.sh
load_module

w=/scratch/sound
mkdir -p "$w/src" /mnt/cfs /mnt/cfs2 /mnt/ref /mnt/outer /mnt/outer-ref
head -c 20000 /dev/urandom >"$w/src/owned"
chown 1000:1000 "$w/src/owned"
if ! mkcomposefs --digest-store="$w/store" "$w/src" "$w/img.cfs"; then
	ktap_result fail "mkcomposefs --digest-store"
	ktap_finish
fi
obj=$(find "$w/store" -type f | head -n 1)
# A store object that is not verity-enabled: ext4 does not do direct I/O on
# fs-verity files (ext4_dio_alignment), so O_DIRECT is visible only on these.
cp "$obj" "$obj.tmp" && mv "$obj.tmp" "$obj"

# ref_mount_as CMD...: the reference stack mounted by CMD (a prefix such as
# `cfs-sound nocap 3`), so that overlayfs records CMD's credentials.
ref_mount_as() {
	mkdir -p /mnt/ref.erofs
	"$@" cfs-mount -t erofs -o ro,noacl "$w/img.cfs" /mnt/ref.erofs &&
		"$@" cfs-mount -t overlay -o "ro,metacopy=on,redirect_dir=on,lowerdir=/mnt/ref.erofs::$w/store" composefs /mnt/ref &&
		cfs-mount -u -l /mnt/ref.erofs
}

# Atime of backing objects: the object belongs to uid 2000 and the mounter
# lacks CAP_FOWNER (3), so overlayfs's owner check would drop O_NOATIME
# (ovl_open_realfile); but it reads data-layer objects through clones of
# their mounts made MNT_NOATIME (fs/overlayfs/super.c, ovl_get_layers), so
# no read changes an object's atime, with O_NOATIME or without.
chown 2000:2000 "$obj"
atime_after_reads() { # MOUNTPOINT: whether each kind of read moved the atime
	cfs-sound oldatime "$obj"
	cat "$1/owned" >/dev/null
	[ "$(stat -c %X "$obj")" = 1000000000 ] && echo "read: atime kept" || echo "read: atime updated"
	cfs-sound oldatime "$obj"
	cfs-sound noatime "$1/owned"
	[ "$(stat -c %X "$obj")" = 1000000000 ] && echo "O_NOATIME: atime kept" || echo "O_NOATIME: atime updated"
}
if ref_mount_as cfs-sound nocap 3 &&
	cfs-sound nocap 3 cfs-mount -t composefs -o "basedir=$w/store,verity=off" "$w/img.cfs" /mnt/cfs; then
	atime_after_reads /mnt/ref >"$w/ref.txt"
	atime_after_reads /mnt/cfs >"$w/cfs.txt"
	sed 's/^/# reference: /' "$w/ref.txt"
	same_output "reads and O_NOATIME reads change the object's atime as in the reference" "$w/ref.txt" "$w/cfs.txt"
	cfs-mount -u /mnt/cfs
	ref_umount /mnt/ref
else
	ktap_result fail "mounts without CAP_FOWNER"
fi
chown 0:0 "$obj"

# fcntl(F_SETFL, O_DIRECT) after open: overlayfs carries it to the real file
# (ovl_real_file -> ovl_change_flags), so an unaligned read then fails.
if ref_mount_as env && cfs-mount -t composefs -o "basedir=$w/store,verity=off" "$w/img.cfs" /mnt/cfs; then
	cfs-sound setfl-direct /mnt/ref/owned >"$w/ref.txt"
	cfs-sound setfl-direct /mnt/cfs/owned >"$w/cfs.txt"
	sed 's/^/# reference: /' "$w/ref.txt"
	same_output "F_SETFL O_DIRECT reaches the backing file as in the reference" "$w/ref.txt" "$w/cfs.txt"
	check "the reference's unaligned direct read failed (the test can tell)" grep -q 'unaligned=-22 ' "$w/ref.txt"
	cfs-mount -u /mnt/cfs
	ref_umount /mnt/ref
else
	ktap_result fail "mounts for F_SETFL"
fi

# Image files on stacked filesystems: composefs refuses them as EROFS
# refuses a file-backed mount there (fs/erofs/super.c, erofs_fc_fill_super:
# nonzero s_stack_depth). The expected errno is what EROFS gives for the
# same file, and a composefs image is an EROFS image.
# stacked_source DESCRIPTION FILE: composefs and EROFS fail alike on FILE.
stacked_source() {
	cfs-mount -t erofs -o ro "$2" /mnt/cfs2 2>/dev/null
	want=$?
	[ "$want" = 0 ] && cfs-mount -u /mnt/cfs2
	echo "# $1: EROFS gives $want"
	if [ "$want" = 0 ]; then
		ktap_result fail "$1: EROFS refuses it"
		return
	fi
	check_errno "$want" "$1: refused with EROFS's errno" cfs-mount -t composefs "$2" /mnt/cfs2
	grep -q ' /mnt/cfs2 ' /proc/mounts && cfs-mount -u /mnt/cfs2
}
mkdir -p "$w/l1" "$w/o1" "$w/o2" "$w/nest"
cp "$w/img.cfs" "$w/l1/img.cfs"
# The outer image holds an image file, its object in the overlay's lower dir.
cp "$w/img.cfs" "$w/nest/inner.cfs"
mkcomposefs --digest-store="$w/l1/store" "$w/nest" "$w/outer.cfs"
# A read-only overlay needs two lower layers.
mkdir -p "$w/empty"
cfs-mount -t overlay -o "ro,lowerdir=$w/l1:$w/empty" overlay "$w/o1"
cfs-mount -t overlay -o "ro,lowerdir=$w/o1:$w/empty" overlay "$w/o2"
stacked_source "image on overlayfs (depth 1)" "$w/o1/img.cfs"
stacked_source "image on overlayfs on overlayfs (depth 2)" "$w/o2/img.cfs"
# An image that is a file of a composefs mount (depth 1), and of one whose
# basedir is on overlayfs (depth 2; overlayfs files have no fs-verity:
# verity=off). FILESYSTEM_MAX_STACK_DEPTH is 2: no filesystem can be
# mounted at depth 3.
if cfs-mount -t composefs -o "basedir=$w/l1/store" "$w/outer.cfs" /mnt/outer; then
	check "the inner image reads back through composefs" cmp /mnt/outer/inner.cfs "$w/img.cfs"
	stacked_source "image inside a composefs mount (depth 1)" /mnt/outer/inner.cfs
	cfs-mount -u /mnt/outer
else
	ktap_result fail "mount the outer image"
fi
if cfs-mount -t composefs -o "basedir=$w/o1/store,verity=off" "$w/outer.cfs" /mnt/outer; then
	stacked_source "image inside composefs over overlayfs (depth 2)" /mnt/outer/inner.cfs
	cfs-mount -u /mnt/outer
else
	ktap_result fail "mount the outer image over overlayfs"
fi
cfs-mount -u "$w/o2"
cfs-mount -u "$w/o1"

# Block devices: claimed with BLK_OPEN_RESTRICT_WRITES as EROFS claims its
# device (get_tree_bdev). vm-run boots with bdev_allow_write_mounted=0, so a
# write open of a claimed device fails (block/bdev.c, bdev_may_open).
cp "$w/img.cfs" "$w/dev.img"
loop=$(losetup -f)
if losetup "$loop" "$w/dev.img" 2>/dev/null; then
	check "the loop device is writable while not mounted" sh -c "cfs-sound write-byte $loop | grep -qx 'open=0 write=1'"
	if cfs-mount -t erofs -o ro "$loop" /mnt/ref; then
		cfs-sound write-byte "$loop" >"$w/ref.txt"
		cfs-mount -u /mnt/ref
	else
		echo "EROFS mount failed" >"$w/ref.txt"
	fi
	sed 's/^/# reference: /' "$w/ref.txt"
	check "writes to a device EROFS has mounted are refused (the test can tell)" grep -q '^open=-' "$w/ref.txt"
	if cfs-mount -t composefs -o "basedir=$w/store,verity=off" "$loop" /mnt/cfs; then
		cfs-sound write-byte "$loop" >"$w/cfs.txt"
		same_output "writes to a device composefs has mounted are refused as in the reference" "$w/ref.txt" "$w/cfs.txt"
		# Another exclusive holder is refused (block/bdev.c, bd_may_claim).
		check_errno 16 "a block filesystem cannot claim the mounted device (EBUSY)" \
			cfs-mount -t erofs -o ro "$loop" /mnt/ref
		grep -q ' /mnt/ref ' /proc/mounts && cfs-mount -u /mnt/ref
		if cfs-mount -t composefs -o "verity=require,noacl" "$loop" /mnt/cfs2; then
			grep " /mnt/cfs2 \| /mnt/cfs " /proc/mounts | sed 's/^/# /'
			check "a second mount of the device keeps its own options" \
				sh -c "grep ' /mnt/cfs2 ' /proc/mounts | grep -q 'verity=require,noacl' &&
					grep ' /mnt/cfs ' /proc/mounts | grep -q 'basedir=$w/store,verity=off'"
			check "the second mount reads the device" [ "$(stat -c %s /mnt/cfs2/owned)" = 20000 ]
			cfs-mount -u /mnt/cfs2
		else
			ktap_result fail "a second mount of the same device"
		fi
		cfs-mount -u /mnt/cfs
		check "the device is writable again after unmounting" sh -c "cfs-sound write-byte $loop | grep -qx 'open=0 write=1'"
	else
		ktap_result fail "mount the loop device"
	fi
	losetup -d "$loop"
else
	skip "block device sources" "no loop device"
fi

# Image files keep their writes denied while mounted (deny_write_access).
if cfs-mount -t composefs "$w/img.cfs" /mnt/cfs; then
	check "the image file cannot be opened for writing while mounted (ETXTBSY)" \
		sh -c "cfs-sound write-byte '$w/img.cfs' | grep -qx 'open=-26'"
	cfs-mount -u /mnt/cfs
else
	ktap_result fail "mount the image file"
fi
ktap_finish
