#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Mounting by file descriptor through the new mount API, as composefs-rs
# mounts: the image given with fsconfig(FSCONFIG_SET_FD, "source"), as
# source=/proc/self/fd/N, the object directories with the repeatable
# basedir+ key (a path or a directory descriptor, O_PATH included, as
# overlayfs's datadir+), and fsmount(2) + move_mount(2) of the detached
# mount. cfs-mount -N passes KEY@fd=N as descriptor N (opened by this
# shell) and KEY@opath=PATH as an O_PATH descriptor. Trees are compared
# with the reference stack's over the same image and store.
. ./lib.sh
load_module

w=/scratch/fdmount
src=$w/src
mkdir -p "$src/dir" "$w/empty" /mnt/cfs /mnt/cfs2 /mnt/ref /mnt/ovl
head -c 100000 /dev/urandom >"$src/big"
echo small >"$src/small"
head -c 5000 /dev/urandom >"$src/dir/file"
ln -s ../big "$src/dir/link"
if ! mkcomposefs --digest-store="$w/store" "$src" "$w/img.cfs"; then
	ktap_result fail "mkcomposefs --digest-store"
	ktap_finish
fi
cp "$w/img.cfs" "$w/verity.cfs"
cfs-verity enable "$w/verity.cfs"
digest=$(cfs-verity measure "$w/verity.cfs" | sed 's/^sha256://')
if ! ref_mount "$w/img.cfs" /mnt/ref "$w/store"; then
	ktap_result fail "the reference stack mounts"
	ktap_finish
fi
cfs-walk /mnt/ref >"$w/ref.txt"

# mount_field TARGET N: field N of /proc/mounts for TARGET (1 source, 4 options).
mount_field() { awk -v t="$1" -v n="$2" '$2 == t { f = $n } END { print f }' /proc/mounts; }
# fd_case DESCRIPTION OPTIONS SOURCE: mount through the new API, walk, unmount.
fd_case() {
	if cfs-mount -N -o "$2" "$3" /mnt/cfs; then
		ktap_result pass "$1: mounts"
		same_tree "$1: tree equals the reference" /mnt/cfs
		echo "# $1: /proc/mounts: $(mount_field /mnt/cfs 1) $(mount_field /mnt/cfs 4)"
	else
		ktap_result fail "$1: mounts"
	fi
}

# 1. The image as a file descriptor.
exec 5<"$w/img.cfs"
fd_case "source as a descriptor (FSCONFIG_SET_FD)" "source@fd=5,basedir=$w/store" -
check "... /proc/mounts names the image as the source" [ "$(mount_field /mnt/cfs 1)" = "$w/img.cfs" ]
cfs-mount -u /mnt/cfs
fd_case "source as an O_PATH descriptor" "source@opath=$w/img.cfs,basedir=$w/store" -
cfs-mount -u /mnt/cfs
check_errno 22 "a second source (string after descriptor) is refused with EINVAL" \
	cfs-mount -N -o "source@fd=5,source=$w/img.cfs,basedir=$w/store" - /mnt/cfs
# A descriptor source is opened as a name is: the same errors. A directory
# is refused as by name (ENOTBLK), and read permission is checked for the
# mounter (here without CAP_DAC_OVERRIDE) even through an O_PATH descriptor.
cfs-mount -t composefs "$w/empty" /mnt/cfs 2>/dev/null
want=$?
check_errno "$want" "a directory as the source descriptor: the error of the same by name ($want)" \
	cfs-mount -N -o "source@opath=$w/empty" - /mnt/cfs
cp "$w/img.cfs" "$w/noread.cfs"
chmod 000 "$w/noread.cfs"
cfs-mount -C -t composefs -o "basedir=$w/store" "$w/noread.cfs" /mnt/cfs 2>/dev/null
want=$?
check "reference case: an unreadable image by name is refused (EACCES)" [ "$want" = 13 ]
check_errno "$want" "an unreadable image as an O_PATH descriptor is refused as by name" \
	cfs-mount -C -N -o "source@opath=$w/noread.cfs,basedir=$w/store" - /mnt/cfs
check "digest= with a descriptor source" \
	sh -c "exec 7<'$w/verity.cfs'; cfs-mount -N -o 'source@fd=7,basedir=$w/store,digest=$digest' - /mnt/cfs"
same_tree "digest= with a descriptor source: tree equals the reference" /mnt/cfs
cfs-mount -u /mnt/cfs
# Another image with fs-verity (other mtimes, so another digest).
mkcomposefs --use-epoch --digest-store="$w/store" "$src" "$w/other.cfs"
cfs-verity enable "$w/other.cfs"
cfs-mount -t composefs -o "basedir=$w/store,digest=$digest" "$w/other.cfs" /mnt/cfs 2>/dev/null
want=$?
check "reference case: by name, an image with another digest is refused (EIO)" [ "$want" = 5 ]
check_errno "$want" "digest= with a descriptor source of another image: refused as by name" \
	sh -c "exec 7<'$w/other.cfs'; cfs-mount -N -o 'source@fd=7,basedir=$w/store,digest=$digest' - /mnt/cfs"

# A block device as the source descriptor (a loop device of a copy of the
# image): claimed as by name, so that it cannot be opened for writing while
# mounted (vm-run boots with bdev_allow_write_mounted=0).
cp "$w/img.cfs" "$w/loop.cfs"
loop=$(losetup -f)
if losetup "$loop" "$w/loop.cfs" 2>/dev/null; then
	check "before the mount the device opens for writing" sh -c ": >>$loop"
	exec 8<"$loop"
	fd_case "a block device as the source descriptor" "source@fd=8,basedir=$w/store" -
	check "... /proc/mounts names the device as the source" [ "$(mount_field /mnt/cfs 1)" = "$loop" ]
	check "... the device cannot be opened for writing while mounted" \
		sh -c "! sh -c ': >>$loop' 2>/dev/null"
	cfs-mount -u /mnt/cfs
	exec 8<&-
	losetup -d "$loop"
else
	ktap_result fail "a loop device of the image (losetup)"
fi

# 2. A detached image file: unlinked after it was opened.
cp "$w/img.cfs" "$w/detached.cfs"
exec 6<"$w/detached.cfs"
rm "$w/detached.cfs"
fd_case "an unlinked image as a descriptor" "source@fd=6,basedir=$w/store" -
cfs-mount -u /mnt/cfs
# source=/proc/self/fd/N, the path composefs-rs gives EROFS: the magic
# link reaches the open file, unlinked or not.
fd_case "source=/proc/self/fd/N (new API)" "basedir=$w/store" /proc/self/fd/5
cfs-mount -u /mnt/cfs
fd_case "source=/proc/self/fd/N of the unlinked image (new API)" "basedir=$w/store" /proc/self/fd/6
cfs-mount -u /mnt/cfs
check "source=/proc/self/fd/N with mount(2)" \
	cfs-mount -t composefs -o "basedir=$w/store" /proc/self/fd/6 /mnt/cfs
same_tree "source=/proc/self/fd/N with mount(2): tree equals the reference" /mnt/cfs
cfs-mount -u /mnt/cfs
exec 6<&-

# 3. basedir+: one directory per key, as a path or a descriptor, searched in
# the order given.
fd_case "basedir+ as paths (an empty one first)" "basedir+=$w/empty,basedir+=$w/store" "$w/img.cfs"
shown=$(mount_field /mnt/cfs 4)
check "basedir+ paths are listed as basedir= in /proc/mounts" \
	sh -c "echo ',$shown,' | grep -q ',basedir=$w/empty:$w/store,'"
# The options /proc/mounts lists mount again, with mount(2).
check "the listed options mount again with mount(2)" \
	cfs-mount -t composefs -o "$(echo "$shown" | sed 's/^ro,//')" "$w/img.cfs" /mnt/cfs2
same_tree "mounted again from the listed options: tree equals the reference" /mnt/cfs2
cfs-mount -u /mnt/cfs2
cfs-mount -u /mnt/cfs
exec 7<"$w/store"
fd_case "basedir+ as a directory descriptor" "basedir+@fd=7" "$w/img.cfs"
check "a basedir+ descriptor is listed by its path" \
	sh -c "echo ',$(mount_field /mnt/cfs 4),' | grep -q ',basedir=$w/store,'"
cfs-mount -u /mnt/cfs
fd_case "basedir+ as an O_PATH descriptor, source as a descriptor" \
	"source@fd=5,basedir+@opath=$w/empty,basedir+@opath=$w/store" -
cfs-mount -u /mnt/cfs
# A basedir descriptor whose directory was renamed before the mount: the
# directory is used, listed by its name at mount time; renamed again while
# mounted, it is still used and the listing does not change.
mv "$w/store" "$w/store-moved"
fd_case "a basedir+ descriptor of a renamed directory" "basedir+@fd=7" "$w/img.cfs"
check "... listed by its name at mount time" \
	sh -c "echo ',$(mount_field /mnt/cfs 4),' | grep -q ',basedir=$w/store-moved,'"
mv "$w/store-moved" "$w/store"
echo 3 >/proc/sys/vm/drop_caches
check "renamed back while mounted: external files still read" cmp /mnt/cfs/big "$src/big"
check "... and the listing is unchanged" \
	sh -c "echo ',$(mount_field /mnt/cfs 4),' | grep -q ',basedir=$w/store-moved,'"
cfs-mount -u /mnt/cfs
exec 7<&-
# Refused: basedir+ with basedir= (either order), as overlayfs refuses
# lowerdir+/datadir+ with lowerdir= (checked here on overlayfs); a basedir+
# descriptor that is not a directory; basedir= as a descriptor.
cfs-mount -N -t overlay -o "lowerdir=/mnt/ref,datadir+=$w/store" overlay /mnt/ovl 2>/dev/null
want=$?
echo "# overlayfs: lowerdir= then datadir+: $want"
check "reference case: overlayfs refuses lowerdir= with datadir+ (EINVAL)" [ "$want" = 22 ]
check_errno 22 "basedir= then basedir+ is refused with EINVAL" \
	cfs-mount -N -o "basedir=$w/store,basedir+=$w/store" "$w/img.cfs" /mnt/cfs
check_errno 22 "basedir+ then basedir= is refused with EINVAL" \
	cfs-mount -N -o "basedir+=$w/store,basedir=$w/store" "$w/img.cfs" /mnt/cfs
check_errno 20 "a basedir+ descriptor of a file is refused with ENOTDIR" \
	cfs-mount -N -o "basedir+@fd=5" "$w/img.cfs" /mnt/cfs
check_errno 2 "a basedir+ path that does not exist is refused with ENOENT" \
	cfs-mount -N -o "basedir+=$w/nonexistent" "$w/img.cfs" /mnt/cfs
check_errno 22 "basedir= as a descriptor is refused with EINVAL" \
	cfs-mount -N -o "basedir@opath=$w/store" "$w/img.cfs" /mnt/cfs
cfs-mount -N -o "basedir+=$w/store" "$w/img.cfs" /mnt/cfs 2>/dev/null
check_errno 0 "remount with the same basedir+ is accepted" \
	cfs-mount -r -N -o "basedir+=$w/store" /mnt/cfs
check_errno 22 "remount with another basedir+ is refused with EINVAL" \
	cfs-mount -r -N -o "basedir+=$w/empty" /mnt/cfs
cfs-mount -u /mnt/cfs

# 4. fsmount(2) + move_mount(2): files read through the detached mount
# before it is attached, and a detached mount that is never attached.
cfs-mount -N -D big -o "source@fd=5,basedir=$w/store" - /mnt/cfs >"$w/detached-big"
check "the detached mount's file equals the source" cmp "$w/detached-big" "$src/big"
same_tree "after move_mount: tree equals the reference" /mnt/cfs
cfs-mount -u /mnt/cfs
cfs-mount -N -D dir/file -o "source@fd=5,basedir=$w/store" - - >"$w/detached-file"
check "a never attached mount: its file equals the source" cmp "$w/detached-file" "$src/dir/file"
check "a never attached mount is gone once closed" sh -c '! grep -q " composefs " /proc/mounts'
exec 5<&-

ref_umount /mnt/ref
ktap_finish
