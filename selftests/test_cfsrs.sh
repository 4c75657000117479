#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Images written by composefs-rs (the `composefs` crate bootc uses, built by
# scripts/gen-cfsrs-images.sh from the test dumps in its format versions
# 0, 1 and 2), mounted by composefs without options and by the reference
# stack as composefs-rs mounts it: EROFS with "ro" only (composefs-rs's
# erofs_mount never passes noacl, whatever the header says) and overlayfs.
# Trees must be equal; for V2 images, which never set the header's HAS_ACL
# flag, that means ACLs enforced by default. With noacl given, both hide
# the ACLs alike.
. ./lib.sh
load_module

w=/scratch/cfsrs
d=/attach/testdata
mkdir -p "$w/store" /mnt/cfs /mnt/ref

n=0
# The images are copied to /scratch: EROFS cannot mount files of the
# guest's initramfs (ramfs reads no folios).
for src in "$d"/*-rs-v[012].cfs; do
	[ -e "$src" ] || continue
	n=$((n + 1))
	name=${src##*/}
	name=${name%.cfs}
	img=$w/$name.cfs
	cp "$src" "$img"
	ver=$(od -An -tu4 -j12 -N4 "$img" | tr -d ' ')
	case $name in
	*-rs-v2) check "$name: the header says composefs_version 2" [ "$ver" = 2 ] ;;
	esac
	if ref_mount "$img" /mnt/ref "$w/store" "" ro; then
		if cfs-mount -t composefs -o "basedir=$w/store" "$img" /mnt/cfs; then
			cfs-walk /mnt/ref >"$w/ref.txt" 2>&1
			cfs-walk /mnt/cfs >"$w/cfs.txt" 2>&1
			same_output "$name: tree equals composefs-rs's mount of it" "$w/ref.txt" "$w/cfs.txt"
			cfs-mount -u /mnt/cfs
		else
			ktap_result fail "$name: composefs mounts it"
		fi
		ref_umount /mnt/ref
	else
		ktap_result fail "$name: the reference (EROFS ro + overlayfs) mounts it"
	fi
done
check "composefs-rs images were found ($n; see gen-cfsrs-images.sh's output for any it refused)" [ "$n" -ge 3 ]

# ACLs of a V2 image: the xattrs dump has a file whose ACL lets uid 1000
# read it although its mode (0640, owner root) does not.
img=$w/xattrs-rs-v2.cfs
if [ -e "$img" ]; then
	ref_mount "$img" /mnt/ref "$w/store" "" ro
	cfs-mount -t composefs "$img" /mnt/cfs
	grep -q '^cfsrs1000:' /etc/passwd || echo 'cfsrs1000:x:1000:1000::/:/bin/sh' >>/etc/passwd
	read_as_1000() { su cfsrs1000 -s /bin/sh -c "cat '$1'" >/dev/null 2>&1 && echo read || echo denied; }
	r=$(read_as_1000 /mnt/ref/acl-file) c=$(read_as_1000 /mnt/cfs/acl-file)
	echo "# uid 1000 reads acl-file: composefs-rs's mount: $r, composefs: $c"
	check "V2: the reference enforces the ACL (uid 1000 may read)" [ "$r" = read ]
	check "V2: composefs enforces it by default too" [ "$c" = read ]
	check "V2: /proc/mounts lists acl" sh -c "grep ' /mnt/cfs composefs ' /proc/mounts | grep -q ',acl'"
	cfs-mount -u /mnt/cfs
	ref_umount /mnt/ref
	# With noacl given: as EROFS mounted with noacl.
	ref_mount "$img" /mnt/ref "$w/store" "" ro,noacl
	cfs-mount -t composefs -o noacl "$img" /mnt/cfs
	cfs-walk /mnt/ref >"$w/ref.txt" 2>&1
	cfs-walk /mnt/cfs >"$w/cfs.txt" 2>&1
	same_output "V2 with noacl: tree equals the reference with noacl" "$w/ref.txt" "$w/cfs.txt"
	r=$(read_as_1000 /mnt/ref/acl-file) c=$(read_as_1000 /mnt/cfs/acl-file)
	check "V2 with noacl: uid 1000 is refused as by the reference ($r)" [ "$c" = "$r" ]
	cfs-mount -u /mnt/cfs
	ref_umount /mnt/ref
else
	ktap_result fail "xattrs-rs-v2.cfs was written by composefs-rs"
fi
ktap_finish
