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

# A mount without ro: EROFS makes every superblock read-only
# (erofs_fc_fill_super) and overlayfs one without an upper layer
# (ovl_fill_super), so the reference stack mounts and refuses writes with
# EROFS. rw_result prints what a mount command gave: "refused ERRNO", or
# "mounted", the first option /proc/mounts shows and what creating a file
# gave.
rw_result() { # TARGET COMMAND...
	local t=$1 rc opt
	shift
	"$@" 2>/dev/null
	rc=$?
	if [ "$rc" != 0 ]; then
		echo "refused $rc"
		return
	fi
	opt=$(awk -v t="$t" '$2 == t { split($4, o, ","); print o[1] }' /proc/mounts)
	if touch "$t/new-file" 2>/tmp/rw.err; then
		echo "mounted $opt created"
	else
		echo "mounted $opt $(sed 's/.*: //' /tmp/rw.err)"
	fi
	cfs-mount -u "$t"
}
mkdir -p /mnt/rw.erofs /mnt/rw.ovl
cfs-mount -t erofs -o ro "$img" /mnt/rw.erofs
ref_rw=$(rw_result /mnt/rw.ovl cfs-mount -w -t overlay -o "rw,metacopy=on,redirect_dir=on,lowerdir=/mnt/rw.erofs::$w/store" composefs /mnt/rw.ovl)
cfs-mount -u /mnt/rw.erofs
erofs_rw=$(rw_result /mnt/rw.erofs cfs-mount -w -t erofs -o rw "$img" /mnt/rw.erofs)
cfs_rw=$(rw_result /mnt/cfs cfs-mount -w -t composefs -o "rw,basedir=$w/store" "$img" /mnt/cfs)
cfs_rw_new=$(rw_result /mnt/cfs cfs-mount -N -t composefs -o "rw,basedir=$w/store" "$img" /mnt/cfs)
echo "# rw mounts: overlayfs: $ref_rw; EROFS: $erofs_rw; composefs: $cfs_rw; through fsconfig: $cfs_rw_new"
check "a mount without ro is read-only, as overlayfs without an upper layer" \
	test "$cfs_rw" = "$ref_rw" -a "${ref_rw%% *}" = mounted
check "a mount without ro through fsconfig is read-only, as overlayfs" test "$cfs_rw_new" = "$ref_rw"
check "EROFS alone also mounts read-only without ro" test "$erofs_rw" = "$ref_rw"

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
	# The rest as the reference answers: overlayfs passes on EROFS's statfs
	# (ovl_statfs), which gives the superblock's block count, no free blocks,
	# f_files 2^64-1 and f_ffree that less the inode count (erofs_statfs).
	mkdir -p /mnt/ref
	if ref_mount "$img" /mnt/ref "$w/store"; then
		stat -f -c 'blocks=%b bfree=%f bavail=%a files=%c ffree=%d namelen=%l bsize=%S' /mnt/ref >"$w/ref.statfs"
		ref_umount /mnt/ref
		stat -f -c 'blocks=%b bfree=%f bavail=%a files=%c ffree=%d namelen=%l bsize=%S' /mnt/cfs >"$w/cfs.statfs"
		echo "# reference statfs: $(cat "$w/ref.statfs")"
		same_output "statfs answers equal the reference's (type aside)" "$w/ref.statfs" "$w/cfs.statfs"
	else
		ktap_result fail "reference stack mounts for the statfs comparison"
	fi
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

# Remount. mount(8) of util-linux resends the options /proc/mounts lists
# (as systemd-shutdown's remounts do): `mount -o remount,ro DIR` becomes
# mount(2) with MS_REMOUNT, the flags it knows and the rest as data, which
# cfs-mount -r reproduces; cfs-mount -r -N sends the options with fsconfig
# on an fspick'd context. Options equal to the mount's are accepted, a
# change is refused with EINVAL and a message naming the option.
remount_opts() { awk -v m="$1" '$2 == m { print $4 }' /proc/mounts; }
if cfs-mount -t composefs -o "basedir=$w/store:$w/store2,digest=$digest,noacl" "$w/verity.cfs" /mnt/cfs; then
	opts=$(remount_opts /mnt/cfs)
	echo "# /proc/mounts options: $opts"
	check "mount(2) remount with the /proc/mounts options" cfs-mount -r -o "$opts" /mnt/cfs
	check "remount,nosuid with the /proc/mounts options" cfs-mount -r -o "$opts,nosuid" /mnt/cfs
	check "the remount applied nosuid" sh -c "grep ' /mnt/cfs ' /proc/mounts | grep -q nosuid"
	check "fsconfig reconfigure with the /proc/mounts options" cfs-mount -r -N -o "$opts" /mnt/cfs
	check "remount with the digest in upper case" \
		cfs-mount -r -o "ro,digest=$(echo "$digest" | tr a-f A-F)" /mnt/cfs
	check "remount with verity=require spelled verity" cfs-mount -r -o "ro,verity" /mnt/cfs
	check_errno 22 "mount(2) remount changing verity is EINVAL" cfs-mount -r -o "$opts,verity=on" /mnt/cfs
	check_errno 22 "fsconfig reconfigure changing verity is EINVAL" cfs-mount -r -N -o "verity=on" /mnt/cfs
	cfs-mount -r -N -o verity=on /mnt/cfs 2>"$w/log"
	check "fsconfig users read which option a remount cannot change" grep -q 'cannot change.*verity' "$w/log"
	check_errno 22 "remount changing basedir is EINVAL" cfs-mount -r -o "ro,basedir=$w/store" /mnt/cfs
	check_errno 22 "remount changing digest is EINVAL" cfs-mount -r -o "ro,digest=$other" /mnt/cfs
	check_errno 22 "remount changing noacl to acl is EINVAL" cfs-mount -r -o "ro,acl" /mnt/cfs
	check_errno 22 "fsconfig reconfigure changing acl is EINVAL" cfs-mount -r -N -o "acl" /mnt/cfs
	# The reference refuses it with EROFS (ovl_reconfigure, fs/overlayfs/params.c).
	check_errno 30 "remount rw is EROFS, as on the reference" cfs-mount -r -o "rw" /mnt/cfs
	# (The per-mount flags are those of the last accepted mount(2) remount,
	# which gave no nosuid: only the superblock's options are compared.)
	after=$(remount_opts /mnt/cfs | sed 's/,nosuid//')
	check "refused remounts changed no option ($after)" [ "$after" = "$opts" ]
	check "the mount still reads after the remounts" cfs-walk -n /mnt/cfs
	cfs-mount -u /mnt/cfs
else
	ktap_result fail "mount for the remount checks"
fi
# The references, as the differences section of composefs.rst describes
# them: overlayfs ignores every option on a mount(2) remount, even changed
# ones, and refuses any through fsconfig.
mkdir -p /mnt/ref
if ref_mount "$img" /mnt/ref "$w/store"; then
	ropts=$(remount_opts /mnt/ref)
	check "reference: overlayfs remounts with its /proc/mounts options" cfs-mount -r -o "$ropts,nosuid" /mnt/ref
	check "reference: overlayfs ignores a changed option on a mount(2) remount" \
		cfs-mount -r -o "ro,redirect_dir=off" /mnt/ref
	check_errno 22 "reference: overlayfs refuses options through fsconfig" \
		cfs-mount -r -N -o "redirect_dir=on" /mnt/ref
	ref_umount /mnt/ref
else
	ktap_result fail "reference stack mounts for the remount checks"
fi

ktap_finish
