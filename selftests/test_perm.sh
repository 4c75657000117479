#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Permission checks as non-root users, composefs against the reference stack:
# modes, owners and POSIX ACLs from the image (with acl and with noacl) decide
# who may read, list and search, identically (FIFOs are not opened). Idmapped mounts map owners.
. ./lib.sh
load_module

w=/scratch/perm
mkdir -p "$w/store" /mnt/cfs /mnt/ref /mnt/idmap
echo "u1000:x:1000:1000::/:/bin/sh" >>/etc/passwd
echo "u1001:x:1001:1001::/:/bin/sh" >>/etc/passwd
printf 'g1000:x:1000:\ng1001:x:1001:\n' >>/etc/group

# access_table ROOT: for each user and entry, what the user may do.
access_table() {
	(cd "$1" && find . | sort) >"$w/paths"
	for u in nobody u1000 u1001; do
		su "$u" -s /bin/sh -c "cd '$1' && while read -r p; do
			a=
			[ -r \"\$p\" ] && a=\${a}r || a=\${a}-
			[ -f \"\$p\" ] && cat \"\$p\" >/dev/null 2>&1 && a=\${a}c || a=\${a}-
			ls \"\$p\" >/dev/null 2>&1 && a=\${a}l || a=\${a}-
			[ -x \"\$p\" ] && a=\${a}x || a=\${a}-
			echo \"$u \$p \$a\"
		done <'$w/paths'"
	done
}

for name in xattrs types; do
	mkcomposefs --from-file "/attach/testdata/$name.dump" "$w/$name.cfs"
	for acl in acl noacl; do
		# The reference follows the image's ACL flag unless told otherwise.
		erofs_opts=
		[ "$acl" = noacl ] && erofs_opts=ro,noacl
		if ! ref_mount "$w/$name.cfs" /mnt/ref "$w/store" "" "$erofs_opts" ||
			! cfs-mount -t composefs -o "basedir=$w/store,$acl" "$w/$name.cfs" /mnt/cfs; then
			ktap_result fail "$name $acl: mounts"
			continue
		fi
		access_table /mnt/ref >"$w/ref.txt"
		access_table /mnt/cfs >"$w/cfs.txt"
		same_output "$name $acl: non-root access equals the reference's" "$w/ref.txt" "$w/cfs.txt"
		cp "$w/cfs.txt" "$w/$name-$acl.txt"
		cfs-mount -u /mnt/cfs
		ref_umount /mnt/ref
	done
done
# acl-file is 0640 root:root with an ACL entry granting uid 1000 read. The
# second column is whether cat could read it (busybox test -r ignores ACLs).
grep " ./acl-file " "$w/xattrs-acl.txt" "$w/xattrs-noacl.txt" | sed "s/^/# /"
check "acl: the ACL lets u1000 read acl-file" grep -q '^u1000 ./acl-file .c' "$w/xattrs-acl.txt"
check "acl: others still may not" grep -q '^u1001 ./acl-file .-' "$w/xattrs-acl.txt"
check "noacl: the mode alone decides" grep -q '^u1000 ./acl-file .-' "$w/xattrs-noacl.txt"

# Idmapped mount: ids 0..99999 appear shifted by 100000.
if cfs-mount -t composefs "$w/types.cfs" /mnt/cfs; then
	if cfs-idmap /mnt/cfs /mnt/idmap 0 100000 100000; then
		check "idmapped mount: root-owned files appear as 100000" \
			[ "$(stat -c %u:%g /mnt/idmap/inline-1)" = 100000:100000 ]
		check "idmapped mount: 70000:123456 appears as 170000 and the overflow gid" \
			[ "$(stat -c %u:%g /mnt/idmap/bigid)" = 170000:65534 ]
		check "idmapped mount: the original mount is unchanged" \
			[ "$(stat -c %u:%g /mnt/cfs/bigid)" = 70000:123456 ]
		cfs-mount -u /mnt/idmap
	else
		ktap_result fail "idmapped mount of composefs (mount_setattr MOUNT_ATTR_IDMAP)"
	fi
	cfs-mount -u /mnt/cfs
else
	ktap_result fail "mount for the idmapped test"
fi

# A mounter without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (cfs-mount -C):
# overlayfs checks every access a second time, with the mounter's
# credentials, on the lower inode (ovl_permission, fs/overlayfs/inode.c),
# which has the same mode, owner and ACLs; so even root is refused what the
# mounter (uid 0, now bound by the owner bits) may not do. A write is checked
# there as a read.
cat >"$w/mounter.dump" <<'EOF2'
/ 0 40755 7 0 0 0 0.0 - - -
/locked 0 40600 2 0 0 0 0.0 - - -
/locked/f 5 100644 1 0 0 0 0.0 - hello -
/wonly 5 100200 1 0 0 0 0.0 - hello -
/theirs 5 100640 1 1000 1000 0 0.0 - hello -
/grp 5 100040 1 1000 0 0 0.0 - hello -
/open 5 100644 1 0 0 0 0.0 - hello -
/fifo 0 10620 1 1000 1000 0 0.0 - - -
/sub 0 40711 2 1000 1000 0 0.0 - - -
/sub/f 5 100644 1 0 0 0 0.0 - hello -
/aclx 5 100644 1 0 0 0 0.0 - hello - system.posix_acl_access=\x02\x00\x00\x00\x01\x00\x00\x00\xff\xff\xff\xff\x02\x00\x05\x00\xe8\x03\x00\x00\x04\x00\x03\x00\xff\xff\xff\xff\x08\x00\x02\x00\xe8\x03\x00\x00\x10\x00\x07\x00\xff\xff\xff\xff\x20\x00\x05\x00\xff\xff\xff\xff
EOF2
mkcomposefs --from-file "$w/mounter.dump" "$w/mounter.cfs"
# mounter_table ROOT: what root and u1000 may do, probed as access_table
# does, plus write access (test -w; only the fifo is not refused by the
# read-only filesystem first) and stat.
mounter_table() {
	for u in root u1000; do
		su "$u" -s /bin/sh -c "cd '$1' && for p in locked locked/f wonly theirs grp open fifo sub sub/f aclx; do
			a=
			[ -r \"\$p\" ] && a=\${a}r || a=\${a}-
			[ -f \"\$p\" ] && cat \"\$p\" >/dev/null 2>&1 && a=\${a}c || a=\${a}-
			ls \"\$p\" >/dev/null 2>&1 && a=\${a}l || a=\${a}-
			[ -x \"\$p\" ] && a=\${a}x || a=\${a}-
			[ -w \"\$p\" ] && a=\${a}w || a=\${a}-
			stat \"\$p\" >/dev/null 2>&1 && a=\${a}s || a=\${a}-
			echo \"$u \$p \$a\"
		done"
	done
}
# compare_mounter NAME FLAGS CHECK...: mounts the image on both stacks with
# cfs-mount FLAGS ("" or -C), runs the CHECKs (each "description|pattern",
# a line the reference's table must hold, so that the comparison can fail),
# then compares both tables.
compare_mounter() {
	name=$1 flags=$2
	shift 2
	# shellcheck disable=SC2086
	if ! REF_MOUNT_ARGS=$flags ref_mount "$w/mounter.cfs" /mnt/ref "$w/store" ||
		! cfs-mount $flags -t composefs -o "basedir=$w/store" "$w/mounter.cfs" /mnt/cfs; then
		ktap_result fail "$name: mounts of the mounter test image"
		ref_umount /mnt/ref 2>/dev/null
		return
	fi
	mounter_table /mnt/ref >"$w/mounter-ref.txt"
	mounter_table /mnt/cfs >"$w/mounter-cfs.txt"
	sed "s/^/# reference ($name): /" "$w/mounter-ref.txt"
	for c in "$@"; do
		check "$name: the reference ${c%%|*}" grep -q "${c#*|}" "$w/mounter-ref.txt"
	done
	same_output "$name: root's and u1000's access equal the reference's" \
		"$w/mounter-ref.txt" "$w/mounter-cfs.txt"
	ref_umount /mnt/ref
	cfs-mount -u /mnt/cfs
}
# The reference does refuse root what the mounter may not do, and lets it
# read what the mounter may.
compare_mounter "mounter without DAC capabilities" -C \
	"refuses root locked/f|^root locked/f --" \
	"lets root read open|^root open rc"
# The same with root as the mounter: its capabilities override every mode
# but execute of a file whose mode has no execute bit, which aclx's ACL
# (not matching its mode, as a crafted image may have it) grants u1000.
compare_mounter "root mounter" "" \
	"refuses u1000 execute of aclx|^u1000 aclx ...-"
ktap_finish
