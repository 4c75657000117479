#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# SELinux labels. A filesystem's security.selinux xattrs become its files'
# labels only if the loaded policy has an fs_use_xattr rule for the
# filesystem type; distribution policies have one for erofs and overlay but
# none for composefs, which contrib/selinux/composefs.cil adds. An image
# whose entries carry labels is mounted with composefs and with the
# reference stack (EROFS + overlayfs), in three states:
#  1. SELinux enabled, no policy loaded: getxattr returns the image's
#     values on both (SELinux then changes nothing, which the other tests
#     rely on);
#  2. a minimal policy (selftests/selinux/base.cil) without the module's
#     rule: the reference's files have the image's labels, composefs's all
#     have the policy's "unlabeled" initial context;
#  3. the same policy with composefs.cil: composefs's labels equal the
#     reference's and the image's.
# With a policy loaded, getxattr("security.selinux") returns the label the
# kernel holds for the inode (what ls -Z and stat -c %C show), not the
# stored value. The policies are compiled on the host
# (scripts/build-selinux-policy.sh, into the test data) and loaded in
# permissive mode: the test is about labels, not enforcement.
# A loaded policy stays until reboot, so this script runs after all others
# (selftests/Makefile, run.sh).
. ./lib.sh
load_module

w=/scratch/selinux
pol=/attach/testdata/selinux
mkdir -p "$w/store" /mnt/cfs /mnt/ref
chmod 755 "$w" "$w/store"

fatal() {
	ktap_result fail "$1"
	ktap_finish
}

grep -qw selinuxfs /proc/filesystems ||
	fatal "the kernel has SELinux enabled (no selinuxfs in /proc/filesystems: CONFIG_SECURITY_SELINUX, or another major LSM chosen at boot)"
for f in base.cil without-module with-module; do
	[ -s "$pol/$f" ] || fatal "test data has the compiled policies ($pol/$f missing: scripts/build-selinux-policy.sh)"
done
grep -q ' /sys/fs/selinux ' /proc/mounts || mount -t selinuxfs selinuxfs /sys/fs/selinux ||
	fatal "selinuxfs mounts on /sys/fs/selinux"

# The contexts the policy gives entries without a usable label, read from
# its source: the "unlabeled" and "file" initial SIDs.
sid_context() {
	sed -n "s/^(sidcontext $1 (\([a-z_]*\) \([a-z_]*\) \([a-z_]*\) ((\([a-z0-9]*\)) ([a-z0-9]*))))\$/\1:\2:\3:\4/p" "$pol/base.cil"
}
unlabeled=$(sid_context unlabeled)
file_ctx=$(sid_context file)
echo "# policy: unlabeled is $unlabeled, unlabeled files in xattr filesystems get $file_ctx"
[ -n "$unlabeled" ] && [ -n "$file_ctx" ] || fatal "base.cil names the unlabeled and file initial contexts"

# The image: path, dump fields after the path (size mode nlink uid gid
# rdev mtime payload content digest) and label ("-": no security.selinux).
# Labels cover directories, files, a symlink, categories, and one context
# the policy does not define (kept as stored for a CAP_MAC_ADMIN reader).
cat >"$w/entries" <<'EOF'
/ 4096 40755 4 0 0 0 0.0 - - - system_u:object_r:root_t:s0
/bin 7 120777 1 0 0 0 0.0 usr/bin - - system_u:object_r:bin_t:s0
/etc 4096 40755 2 0 0 0 0.0 - - - system_u:object_r:etc_t:s0
/etc/hostname 6 100644 1 0 0 0 0.0 - guest\x0a - system_u:object_r:etc_t:s0
/etc/shadow 7 100000 1 0 0 0 0.0 - secret\x0a - system_u:object_r:shadow_t:s0
/mcs 4 100644 1 0 0 0 0.0 - mcs\x0a - system_u:object_r:usr_t:s0:c0,c1
/nolabel 3 100644 1 0 0 0 0.0 - no\x0a - -
/undefined 4 100644 1 0 0 0 0.0 - und\x0a - system_u:object_r:no_such_t:s0
/usr 4096 40755 3 0 0 0 0.0 - - - system_u:object_r:usr_t:s0
/usr/bin 4096 40755 2 0 0 0 0.0 - - - system_u:object_r:bin_t:s0
/usr/bin/tool 5 100755 1 0 0 0 0.0 - tool\x0a - system_u:object_r:bin_t:s0
EOF
while read -r p size mode nlink uid gid rdev mtime payload content digest label; do
	x=
	[ "$label" = - ] || x=" security.selinux=$label\\x00"
	echo "$p $size $mode $nlink $uid $gid $rdev $mtime $payload $content $digest$x"
done <"$w/entries" >"$w/labels.dump"
mkcomposefs --from-file "$w/labels.dump" "$w/labels.cfs" ||
	fatal "mkcomposefs builds the labeled image"

# label PATH: the label getxattr returns (its terminating NUL dropped), or
# the error. As `label_as USER PATH` for an unprivileged reader, who
# gets the policy's view of an undefined context instead of the raw one.
label() {
	cfs-op getxattr "$1" security.selinux 2>&1 | tr -d '\000'
	echo
}
label_as() {
	su "$1" -s /bin/sh -c "cfs-op getxattr '$2' security.selinux 2>&1 | tr -d '\\000'; echo"
}
# stat_labels ROOT: the same as coreutils' `stat -c %C` and `ls -Zd` show
# them (libselinux's lgetfilecon).
stat_labels() {
	while read -r p rest; do
		echo "$p $(/usr/bin/stat -c %C "$1$p" 2>&1)"
		echo "$p $(/usr/bin/ls -Zd "$1$p" 2>&1 | sed 's/ .*//')"
	done <"$w/entries"
}
# stat_expect FILE: FILE's labels as stat_labels prints them. coreutils'
# ls (9.6 and later) asks for security.selinux only when listxattr names
# it, and neither stack lists an xattr the image does not have: ls -Z
# shows "?" for the entries without one (stat -c %C asks regardless).
stat_expect() {
	while read -r p l; do
		echo "$p $l"
		if grep -q "^$p .* -\$" "$w/entries"; then echo "$p ?"; else echo "$p $l"; fi
	done <"$1"
}
# labels ROOT [USER]: "path label" for every entry of the image.
labels() {
	while read -r p rest; do
		if [ -n "${2:-}" ]; then l=$(label_as "$2" "$1$p"); else l=$(label "$1$p"); fi
		echo "$p $l"
	done <"$w/entries"
}
# expect MODE: the labels the image asks for; "unlabeled" and "file"
# stand for the policy's contexts, "raw" for no policy (the stored values).
expect() {
	while read -r p f1 f2 f3 f4 f5 f6 f7 f8 f9 f10 label; do
		case $1:$label in
		unlabeled:*) l=$unlabeled ;;
		raw:-) l="cfs-op getxattr: No data available" ;;
		*:-) l=$file_ctx ;;
		*) l=$label ;;
		esac
		echo "$p $l"
	done <"$w/entries"
}

# mount_both: fresh mounts (a superblock's labeling behaviour is fixed
# when it is mounted under a policy).
mount_both() {
	if ! ref_mount "$w/labels.cfs" /mnt/ref "$w/store"; then
		ktap_result fail "$1: the reference stack mounts"
		return 1
	fi
	if ! cfs-mount -t composefs -o "basedir=$w/store" "$w/labels.cfs" /mnt/cfs; then
		ktap_result fail "$1: composefs mounts"
		ref_umount /mnt/ref
		return 1
	fi
}
umount_both() {
	cfs-mount -u /mnt/cfs
	ref_umount /mnt/ref
}

# load_policy FILE: one write(2) of the whole policy, as load_policy does
# (selinuxfs refuses a policy written in pieces).
load_policy() {
	dd if="$1" of=/sys/fs/selinux/load bs=1M 2>/dev/null
}

expect raw >"$w/want-raw.txt"
expect policy >"$w/want.txt"
expect unlabeled >"$w/want-unlabeled.txt"

# 1. No policy loaded.
if [ -e /sys/fs/selinux/class/file ]; then
	ktap_result fail "no policy is loaded before this test (a policy stays until reboot)"
elif mount_both "no policy"; then
	labels /mnt/ref >"$w/ref.txt"
	labels /mnt/cfs >"$w/cfs.txt"
	same_output "no policy: the reference's getxattr returns the stored labels" "$w/want-raw.txt" "$w/ref.txt"
	same_output "no policy: composefs's getxattr returns the stored labels" "$w/want-raw.txt" "$w/cfs.txt"
	cfs-walk /mnt/ref >"$w/ref.txt"
	same_tree "no policy: tree and xattrs equal the reference's" /mnt/cfs
	umount_both
fi

# 2. The policy without composefs.cil.
if ! load_policy "$pol/without-module"; then
	fatal "the policy without composefs.cil loads"
fi
ktap_result pass "the policy without composefs.cil loads"
check "permissive mode" [ "$(cat /sys/fs/selinux/enforce)" = 0 ]
check "the policy is in force: this process runs in the kernel's initial context" \
	grep -q '^system_u:system_r:kernel_t:' /proc/self/attr/current
if mount_both "without module"; then
	labels /mnt/ref >"$w/ref.txt"
	labels /mnt/cfs >"$w/cfs.txt"
	same_output "without module: the reference's files have the image's labels" "$w/want.txt" "$w/ref.txt"
	same_output "without module: composefs's files are all $unlabeled" "$w/want-unlabeled.txt" "$w/cfs.txt"
	stat_expect "$w/want-unlabeled.txt" >"$w/want-stat.txt"
	stat_labels /mnt/cfs >"$w/cfs-stat.txt"
	same_output "without module: stat -c %C and ls -Z show $unlabeled on composefs" "$w/want-stat.txt" "$w/cfs-stat.txt"
	umount_both
fi

# 3. The policy with composefs.cil.
if ! load_policy "$pol/with-module"; then
	fatal "the policy with composefs.cil loads"
fi
ktap_result pass "the policy with composefs.cil loads"
if mount_both "with module"; then
	labels /mnt/ref >"$w/ref.txt"
	labels /mnt/cfs >"$w/cfs.txt"
	same_output "with module: the reference's files have the image's labels" "$w/want.txt" "$w/ref.txt"
	same_output "with module: composefs's files have the image's labels" "$w/want.txt" "$w/cfs.txt"
	stat_expect "$w/want.txt" >"$w/want-stat.txt"
	stat_labels /mnt/ref >"$w/ref-stat.txt"
	stat_labels /mnt/cfs >"$w/cfs-stat.txt"
	same_output "with module: stat -c %C and ls -Z show the image's labels on the reference" "$w/want-stat.txt" "$w/ref-stat.txt"
	same_output "with module: stat -c %C and ls -Z show the image's labels on composefs" "$w/want-stat.txt" "$w/cfs-stat.txt"
	# An unprivileged reader sees the policy's view: the undefined
	# context is unlabeled to it, on both stacks alike.
	labels /mnt/ref nobody >"$w/ref-nobody.txt"
	labels /mnt/cfs nobody >"$w/cfs-nobody.txt"
	same_output "with module: labels as nobody equal the reference's" "$w/ref-nobody.txt" "$w/cfs-nobody.txt"
	check "with module: nobody sees the undefined context as $unlabeled" \
		grep -qx "/undefined $unlabeled" "$w/cfs-nobody.txt"
	cfs-walk /mnt/ref >"$w/ref.txt"
	same_tree "with module: tree and xattrs (names and values, as getxattr returns them) equal the reference's" /mnt/cfs
	umount_both
fi

ktap_finish
