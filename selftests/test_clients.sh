#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# composefs as its users mount it: util-linux mount(8)/umount(8)/findmnt
# (Debian 13's 2.41, libmount, in /usr/bin: busybox sh runs its own applets
# first, so they are called by absolute path) and the kernel loading the
# module on demand. Cases: `mount -t composefs` with the module unloaded
# (get_fs_type() calls request_module("fs-composefs"), fs/filesystems.c)
# and `modprobe -r` after the last unmount; /etc/fstab with `mount -a` and
# `mount /mnt/x`; `findmnt -J`; `mount -o remount,...`; X-mount.idmap=;
# the command lines a systemd .mount unit runs; a mount.composefs helper
# installed next to the kernel filesystem; `umount -a -t composefs`.
# Expected trees, mount flags and idmapped owners come from the reference
# stack (EROFS + overlayfs over the same image and store) driven by the
# same util-linux commands.
. ./lib.sh

M=/usr/bin/mount
U=/usr/bin/umount
F=/usr/bin/findmnt
w=/scratch/clients
src=$w/src
mkdir -p "$src/dir" /mnt/cfs /mnt/ref /mnt/refr /mnt/cfsr /mnt/fa /mnt/fc /mnt/unit \
	/mnt/cid /mnt/rid /mnt/cid2 /mnt/rid2

check "util-linux mount is 2.41" sh -c "$M --version | grep -q 'util-linux 2\.41'"

# The image: inline and external files, an executable script, a file owned
# by 1000:1000 (for the idmapped mounts), a directory and a symlink.
head -c 100000 /dev/urandom >"$src/big"
echo small >"$src/small"
printf '#!/bin/sh\necho ran-from-the-mount\n' >"$src/script"
chmod 755 "$src/script"
echo owned >"$src/dir/owned"
chown 1000:1000 "$src/dir/owned"
ln -s ../big "$src/dir/link"
img=$w/img.cfs
if ! mkcomposefs --digest-store="$w/store" "$src" "$img"; then
	ktap_result fail "mkcomposefs --digest-store builds the image"
	ktap_finish
fi
cp "$img" "$w/verity.cfs"
cfs-verity enable "$w/verity.cfs"
digest=$(cfs-verity measure "$w/verity.cfs" | sed 's/^sha256://')

# The reference tree. ref_mount loads nothing: EROFS and overlayfs are
# built in.
if ! ref_mount "$img" /mnt/ref "$w/store"; then
	ktap_result fail "the reference stack mounts"
	ktap_finish
fi
cfs-walk /mnt/ref >"$w/ref.txt"

loaded() { grep -q '^composefs ' /proc/modules; }
fstype_at() { awk -v t="$1" '$2 == t { f = $3 } END { print f }' /proc/mounts; }
# Per-mount flags (mountinfo's sixth field) of the mount at TARGET.
mnt_flags() { awk -v t="$1" '$5 == t { f = $6 } END { print f }' /proc/self/mountinfo; }

# 1. On-demand loading.
if loaded; then rmmod composefs; fi
check "before: the module is not loaded" sh -c '! grep -q "^composefs " /proc/modules'
check "before: /proc/filesystems has no composefs" sh -c '! grep -qw composefs /proc/filesystems'
check "modinfo: the module declares alias fs-composefs" \
	sh -c "modinfo -F alias composefs | grep -qx fs-composefs"
check "modules.alias maps fs-composefs to composefs" \
	grep -q '^alias fs-composefs composefs$' "/lib/modules/$(uname -r)/modules.alias"
check "mount -t composefs loads the module on demand" \
	$M -t composefs -o "basedir=$w/store" "$img" /mnt/cfs
check "the module is loaded" loaded
check "/mnt/cfs is a composefs mount" [ "$(fstype_at /mnt/cfs)" = composefs ]
same_tree "on-demand mount: tree equals the reference" /mnt/cfs
check "modprobe -r while mounted is refused" sh -c '! modprobe -r composefs 2>/dev/null'
check "umount(8)" $U /mnt/cfs
check "modprobe -r after the last unmount" modprobe -r composefs
check "the module is unloaded" sh -c '! grep -q "^composefs " /proc/modules'

# 2. /etc/fstab: mount -a (loads the module again) and mount /mnt/x for a
# noauto entry. X-mount.mkdir makes the missing mount point.
cat >/etc/fstab <<EOF
# composefs test entries
$img /mnt/fa composefs basedir=$w/store 0 0
$w/verity.cfs /mnt/fb composefs ro,basedir=$w/store,digest=$digest,X-mount.mkdir 0 0
$img /mnt/fc composefs noauto,basedir=$w/store,verity=require 0 0
EOF
check "mount -a" $M -a
check "mount -a loaded the module" loaded
check "mount -a mounted /mnt/fa" [ "$(fstype_at /mnt/fa)" = composefs ]
check "mount -a mounted /mnt/fb (digest=, X-mount.mkdir)" [ "$(fstype_at /mnt/fb)" = composefs ]
check "mount -a skipped the noauto entry" [ -z "$(fstype_at /mnt/fc)" ]
check "mount /mnt/fc (noauto entry)" $M /mnt/fc
check "/mnt/fc is a composefs mount" [ "$(fstype_at /mnt/fc)" = composefs ]
same_tree "fstab /mnt/fa: tree equals the reference" /mnt/fa
same_tree "fstab /mnt/fb: tree equals the reference" /mnt/fb
same_tree "fstab /mnt/fc: tree equals the reference" /mnt/fc
check "a second mount -a is a no-op" $M -a

# 3. findmnt -J: source, fstype and options as the kernel reports them.
# The expected values are /proc/self/mountinfo's: the source and type after
# the " - " separator, each of the superblock's options.
for t in /mnt/fa /mnt/fb /mnt/fc; do
	$F -J -o SOURCE,FSTYPE,OPTIONS --mountpoint "$t" >"$w/findmnt.json" 2>&1
	sed 's/^/# /' "$w/findmnt.json"
	field() { sed -n "s/^ *\"$1\": \"\\(.*\\)\",\\{0,1\\}\$/\\1/p" "$w/findmnt.json"; }
	line=$(awk -v t="$t" '$5 == t' /proc/self/mountinfo | tail -n1)
	want_src=$(echo "$line" | sed 's/.* - [^ ]* \([^ ]*\) .*/\1/')
	want_opts=$(echo "$line" | sed 's/.* - [^ ]* [^ ]* //')
	check "findmnt -J $t: source is $want_src" [ "$(field source)" = "$want_src" ]
	check "findmnt -J $t: fstype is composefs" [ "$(field fstype)" = composefs ]
	opts=,$(field options),
	missing=
	for o in $(echo "$want_opts" | tr , ' '); do
		case $o in rw | ro) continue ;; esac
		case $opts in *",$o,"*) ;; *) missing="$missing $o" ;; esac
	done
	check "findmnt -J $t: options include the superblock's ($want_opts)" [ -z "$missing" ]
done

# 4. The command lines a systemd .mount unit runs (src/core/mount.c:
# start: mount WHAT WHERE -t TYPE -o OPTIONS, nofail/noauto/auto filtered
# out; stop: umount WHERE -c). The unit's Options= here are
# ro,basedir=...,digest=...,x-systemd.requires-mounts-for=/scratch,
# x-systemd.device-timeout=10s,nofail.
unit_opts="ro,basedir=$w/store,digest=$digest,x-systemd.requires-mounts-for=/scratch,x-systemd.device-timeout=10s"
check "systemd-style start: mount WHAT WHERE -t composefs -o ..." \
	$M "$w/verity.cfs" /mnt/unit -t composefs -o "$unit_opts"
check "systemd-style start: /mnt/unit is a composefs mount" [ "$(fstype_at /mnt/unit)" = composefs ]
same_tree "systemd-style mount: tree equals the reference" /mnt/unit
check "systemd-style stop: umount WHERE -c" $U /mnt/unit -c
check "systemd-style stop: /mnt/unit is unmounted" [ -z "$(fstype_at /mnt/unit)" ]

# 5. Remounts with mount(8) change the per-mount flags. The reference is
# the reference stack's EROFS mount of the same image, mounted and
# remounted with the same commands: its overlay cannot serve, since
# overlayfs refuses every option in a reconfigure through the new mount API
# ("No changes allowed in reconfigure") and libmount 2.41 remounts through
# it, passing the superblock's options along.
if $M -t erofs "$img" /mnt/refr && $M -t composefs -o "basedir=$w/store" "$img" /mnt/cfsr; then
	check "before remounts: the script runs from composefs" sh -c "/mnt/cfsr/script | grep -q ran-from"
	check "before remounts: per-mount flags equal the reference's ($(mnt_flags /mnt/refr))" \
		[ "$(mnt_flags /mnt/cfsr)" = "$(mnt_flags /mnt/refr)" ]
	for o in ro nosuid noexec noatime relatime; do
		before=$(mnt_flags /mnt/refr)
		check "reference: mount -o remount,$o on EROFS" $M -o "remount,$o" /mnt/refr
		check "mount -o remount,$o on composefs" $M -o "remount,$o" /mnt/cfsr
		echo "# after remount,$o: reference $before -> $(mnt_flags /mnt/refr), composefs $(mnt_flags /mnt/cfsr)"
		check "remount,$o: the reference's flags now include $o" \
			sh -c "echo ,$(mnt_flags /mnt/refr), | grep -q ,$o,"
		check "remount,$o: per-mount flags equal the reference's" \
			[ "$(mnt_flags /mnt/cfsr)" = "$(mnt_flags /mnt/refr)" ]
	done
	check "after remount,noexec: the reference refuses to run the script" sh -c '! /mnt/refr/script 2>/dev/null'
	check "after remount,noexec: composefs refuses to run the script" sh -c '! /mnt/cfsr/script 2>/dev/null'
	same_tree "after the remounts: tree equals the reference" /mnt/cfsr
	$U /mnt/refr
else
	ktap_result fail "mounts for the remount tests"
fi

# 6. X-mount.idmap= (libmount: a user namespace from the map or from a
# /proc/PID/ns/user path, open_tree + mount_setattr(MOUNT_ATTR_IDMAP)).
# First a tmpfs bind mount, which needs nothing from composefs.
mkdir -p /tmp/ida /tmp/idb
$M -t tmpfs tmpfs /tmp/ida && touch /tmp/ida/f
check "X-mount.idmap on a tmpfs bind mount" $M --bind -o X-mount.idmap=b:0:1000:1 /tmp/ida /tmp/idb
# Documentation/filesystems/idmappings.rst: fs id 0 maps to 1000.
check "X-mount.idmap on tmpfs: root's file appears as 1000:1000" \
	[ "$(stat -c %u:%g /tmp/idb/f 2>&1)" = 1000:1000 ]
$U /tmp/idb 2>/dev/null
$U /tmp/ida
# composefs with the map given in the option, against a bind of the
# reference with the same option.
# idmapped_pair NAME OPTION CFS REF: composefs mounted with OPTION at CFS,
# the reference bind-mounted with it at REF; walks in $w/NAME-{cfs,ref}.txt.
idmapped_pair() {
	check "$1: mount -t composefs -o $2" \
		$M -t composefs -o "basedir=$w/store,$2" "$img" "$3"
	check "$1: reference: mount --bind -o $2" $M --bind -o "$2" /mnt/ref "$4"
	if [ "$(fstype_at "$3")" = composefs ] && [ "$(fstype_at "$4")" = overlay ]; then
		cfs-walk "$4" >"$w/$1-ref.txt" 2>&1
		cfs-walk "$3" >"$w/$1-cfs.txt" 2>&1
		same_output "$1: idmapped tree equals the idmapped reference" "$w/$1-ref.txt" "$w/$1-cfs.txt"
	else
		ktap_result fail "$1: idmapped tree equals the idmapped reference (not mounted)"
		: >"$w/$1-cfs.txt"
	fi
}
idmapped_pair idmap-map X-mount.idmap=b:0:1000:1 /mnt/cid /mnt/rid
check "X-mount.idmap map: the mapping is applied (owners 1000 appear)" grep -q 'uid=1000 gid=1000' "$w/idmap-map-cfs.txt"
$U /mnt/cid 2>/dev/null
$U /mnt/rid 2>/dev/null
# The user namespace given by path: a process unshares one, root writes
# its maps (0 -> 2000, 1000 -> 3000).
unshare -U sleep 120 &
nspid=$!
i=0
while [ "$(readlink /proc/$nspid/ns/user)" = "$(readlink /proc/self/ns/user)" ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
printf '0 2000 1\n1000 3000 1\n' >/proc/$nspid/uid_map
printf '0 2000 1\n1000 3000 1\n' >/proc/$nspid/gid_map
idmapped_pair idmap-path "X-mount.idmap=/proc/$nspid/ns/user" /mnt/cid2 /mnt/rid2
kill $nspid
wait $nspid 2>/dev/null
check "X-mount.idmap path: the mapping is applied (owners 3000 appear)" grep -q 'uid=3000 gid=3000' "$w/idmap-path-cfs.txt"
$U /mnt/cid2 2>/dev/null
$U /mnt/rid2 2>/dev/null

# 7. Next to upstream's userspace: with /sbin/mount.composefs installed,
# mount(8) runs it for -t composefs; -i and mount(2) still reach the
# kernel filesystem. The stand-in records its arguments and fails.
cat >/sbin/mount.composefs <<EOF
#!/bin/sh
echo "\$@" >$w/helper-args
exit 32
EOF
chmod 755 /sbin/mount.composefs
rm -f "$w/helper-args"
$M -t composefs -o "basedir=$w/store" "$img" /mnt/cfs 2>/dev/null
rc=$?
check "with mount.composefs installed, mount -t composefs runs it" [ -e "$w/helper-args" ]
check "... and returns its exit status (32)" [ $rc = 32 ]
check "... and nothing is mounted" [ -z "$(fstype_at /mnt/cfs)" ]
rm -f "$w/helper-args"
check "mount -i -t composefs skips the helper" $M -i -t composefs -o "basedir=$w/store" "$img" /mnt/cfs
check "mount -i: the helper did not run" [ ! -e "$w/helper-args" ]
check "mount -i: /mnt/cfs is the kernel's composefs" [ "$(fstype_at /mnt/cfs)" = composefs ]
same_tree "mount -i: tree equals the reference" /mnt/cfs
$U /mnt/cfs
check "mount(2) with the helper installed" cfs-mount -t composefs -o "basedir=$w/store" "$img" /mnt/cfs
check "mount(2): /mnt/cfs is the kernel's composefs" [ "$(fstype_at /mnt/cfs)" = composefs ]
check "mount(2): the helper did not run" [ ! -e "$w/helper-args" ]
rm -f /sbin/mount.composefs

# 8. umount -a -t composefs unmounts every composefs mount and nothing else.
n=$(grep -c ' composefs ' /proc/mounts)
echo "# composefs mounts before umount -a: $n"
check "umount -a -t composefs" $U -a -t composefs
check "no composefs mount is left" sh -c '! grep -q " composefs " /proc/mounts'
check "the reference overlay is still mounted" [ "$(fstype_at /mnt/ref)" = overlay ]
check "/scratch is still mounted" [ "$(fstype_at /scratch)" = ext4 ]
check "modprobe -r after umount -a" modprobe -r composefs
ref_umount /mnt/ref
: >/etc/fstab
ktap_finish
