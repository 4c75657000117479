#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Mount options, sources and the errors of bad mounts: each bad option or
# refused condition fails with its errno and a message in the fs_context log
# (read back through fsopen) or the kernel log; good ones show up in
# /proc/mounts in a form that mounts again the same way. statfs answers.
. ./lib.sh
load_module

w=/scratch/mount
mkdir -p "$w/store" "$w/store2" /mnt/cfs /mnt/cfs2
mkcomposefs --from-file /attach/testdata/types.dump "$w/img.cfs"
touch "$w/notadir"
img=$w/img.cfs
digest=$(mkcomposefs --from-file --print-digest-only /attach/testdata/types.dump)

mounts_ok() { # DESCRIPTION OPTIONS [SOURCE]: mounts, walks, unmounts
	if cfs-mount -t composefs -o "$2" "${3:-$img}" /mnt/cfs; then
		cfs-walk -n /mnt/cfs >/dev/null && cfs-mount -u /mnt/cfs && ktap_result pass "$1" && return
		cfs-mount -u /mnt/cfs
	fi
	ktap_result fail "$1"
}
refused() { # ERRNO DESCRIPTION OPTIONS [SOURCE]
	check_errno "$1" "$2" cfs-mount -t composefs -o "$3" "${4:-$img}" /mnt/cfs
	grep -q ' /mnt/cfs ' /proc/mounts && cfs-mount -u /mnt/cfs
}

# Good options.
mounts_ok "no options" ""
mounts_ok "basedir" "basedir=$w/store"
mounts_ok "two basedirs" "basedir=$w/store:$w/store2"
mounts_ok "verity=off" "verity=off"
mounts_ok "verity=on" "verity=on"
mounts_ok "verity=require" "verity=require"
mounts_ok "upstream spelling: verity" "verity"
mounts_ok "upstream spelling: tryverity" "tryverity"
mounts_ok "acl" "acl"
mounts_ok "noacl" "noacl"
mounts_ok "ro" "ro,basedir=$w/store"

# Bad options.
refused 22 "unknown option is EINVAL" "bogus"
refused 22 "unknown option with a value is EINVAL" "bogus=1"
refused 22 "relative basedir is EINVAL" "basedir=store"
refused 22 "empty basedir is EINVAL" "basedir="
refused 2 "missing basedir is ENOENT" "basedir=$w/nonexistent"
refused 20 "basedir that is not a directory is ENOTDIR" "basedir=$w/notadir"
refused 22 "bad verity= value is EINVAL" "verity=maybe"
refused 22 "digest= not hex is EINVAL" "digest=xyz"
refused 22 "digest= of the wrong length is EINVAL" "digest=$(echo "$digest" | cut -c1-62)"
refused 22 "digest= with verity=off is EINVAL" "digest=$digest,verity=off"
refused 22 "upperdir= is refused" "upperdir=/tmp"
refused 22 "workdir= is refused" "workdir=/tmp"
refused 22 "idmap= is refused" "idmap=/proc/1/ns/user"
refused 22 "rw is refused" "rw"
check_errno 22 "rw through fsconfig is refused" cfs-mount -N -t composefs -o rw "$img" /mnt/cfs

# Messages reach fsopen users and the kernel log.
cfs-mount -N -t composefs -o upperdir=/tmp "$img" /mnt/cfs 2>"$w/log" >&2
check "fsopen users read why upperdir= was refused" grep -qi 'overlay' "$w/log"
cfs-mount -N -t composefs -o bogus "$img" /mnt/cfs 2>"$w/log" >&2
check "fsopen users read which option was unknown" grep -q 'bogus' "$w/log"
cfs-mount -t composefs -o "basedir=$w/nonexistent" "$img" /mnt/cfs 2>/dev/null
check "mount(2) failures are explained in the kernel log" sh -c "dmesg | grep -i composefs | grep -q nonexistent"

# Sources: any regular file (tmpfs included), or a block device.
cp "$img" /tmp/img.cfs
mounts_ok "image on tmpfs" "" /tmp/img.cfs
check_errno 15 "source that is a directory is refused" cfs-mount -t composefs "$w" /mnt/cfs
refused 2 "missing source is ENOENT" "" "$w/nonexistent.cfs"
loop=$(losetup -f)
if losetup -r "$loop" "$img" 2>/dev/null; then
	mounts_ok "image on a loop device" "" "$loop"
	refused 22 "digest= with a block device source is EINVAL" "digest=$digest" "$loop"
	losetup -d "$loop"
else
	skip "image on a loop device" "no loop device"
	skip "digest= with a block device source" "no loop device"
fi
check "fsopen/fsmount/move_mount" cfs-mount -N -t composefs -o "basedir=$w/store" "$img" /mnt/cfs
cfs-mount -u /mnt/cfs

# digest=: the image must be a verity file with that digest.
refused 61 "digest= on an image without fs-verity is ENODATA" "digest=$digest"
cp "$img" "$w/verity.cfs"
cfs-verity enable "$w/verity.cfs"
check "mkcomposefs --print-digest-only matches the kernel's measurement" \
	[ "$(cfs-verity measure "$w/verity.cfs")" = "sha256:$digest" ]
mounts_ok "digest= matching the image" "digest=$digest" "$w/verity.cfs"
other=$(echo "$digest" | tr 0123456789abcdef 123456789abcdef0)
refused 5 "digest= of another image is EIO" "digest=$other" "$w/verity.cfs"
mounts_ok "digest= in upper case" "digest=$(echo "$digest" | tr a-f A-F)" "$w/verity.cfs"

# Bad images.
head -c 100 "$img" >"$w/short.cfs"
refused 22 "truncated header is EINVAL" "" "$w/short.cfs"
: >"$w/empty.cfs"
refused 22 "empty image is EINVAL" "" "$w/empty.cfs"
{ printf 'XXXX'; tail -c +5 "$img"; } >"$w/magic.cfs"
refused 22 "bad composefs magic is EINVAL" "" "$w/magic.cfs"
{ head -c 1024 "$img"; printf 'XXXX'; tail -c +1029 "$img"; } >"$w/sbmagic.cfs"
refused 22 "bad EROFS superblock magic is EINVAL" "" "$w/sbmagic.cfs"
{ head -c 1036 "$img"; printf '\013'; tail -c +1038 "$img"; } >"$w/blkbits.cfs"
refused 22 "block size other than 4096 is EINVAL" "" "$w/blkbits.cfs"

# A mounted image, as seen by users.
if cfs-mount -t composefs -o "basedir=$w/store,verity=require" "$img" /mnt/cfs; then
	set -- $(stat -f -c '%t %S %c' /mnt/cfs)
	check "statfs f_type is the composefs magic" [ "$1" = d078629a ]
	check "statfs f_bsize is 4096" [ "$2" = 4096 ]
	# Inodes in the image, derived from the dump: entries minus hard links.
	want=$(grep -vc '^[^ ]* [0-9]* @' /attach/testdata/types.dump)
	check "statfs f_files counts the image's inodes but the stubs ($want)" [ "$3" = "$want" ]
	opts=$(awk '$2 == "/mnt/cfs" { print $4 }' /proc/mounts)
	echo "# /proc/mounts options: $opts"
	check "/proc/mounts shows ro" sh -c "echo '$opts' | grep -q '^ro'"
	check "/proc/mounts shows basedir" sh -c "echo '$opts' | grep -q 'basedir=$w/store'"
	check "/proc/mounts shows verity=require" sh -c "echo '$opts' | grep -q 'verity=require'"
	check "/proc/mounts options mount again" cfs-mount -t composefs -o "$opts" "$img" /mnt/cfs2
	cfs-mount -u /mnt/cfs2
	check "writes through the mount fail" sh -c '! touch /mnt/cfs/new 2>/dev/null'
	check "writing the mounted image is refused" sh -c "! echo x 2>/dev/null >>'$img'"
	exec 3</mnt/cfs/inline-100
	check_errno 16 "umount with an open file is EBUSY" cfs-mount -u /mnt/cfs
	exec 3<&-
	check "umount after close" cfs-mount -u /mnt/cfs
	check "the image is writable again after umount" sh -c "cat '$img' >>'$img.copy'"
else
	ktap_result fail "mount for the statfs and /proc/mounts checks"
fi

ktap_finish
