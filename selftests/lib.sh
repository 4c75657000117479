# SPDX-License-Identifier: GPL-2.0
# KTAP helpers for the guest-side selftests (busybox sh). Each test script
# sources this, reports one result line per check and ends with ktap_finish,
# which prints the plan and exits 0 only if nothing failed.

# Installed by kselftest (selftests/Makefile), the C helpers sit next to the
# scripts, in the directory the runner starts each test in: they come first.
if [ -x ./cfs-mount ]; then PATH=$PWD:$PATH; fi

KTAP_N=0
KTAP_FAIL=0
KTAP_SKIP=0
echo "TAP version 13"
echo "# ${0##*/}"

# ktap_result STATUS DESCRIPTION [DIRECTIVE]
ktap_result() {
	KTAP_N=$((KTAP_N + 1))
	case $1 in
	pass) echo "ok $KTAP_N $2" ;;
	skip) KTAP_SKIP=$((KTAP_SKIP + 1)); echo "ok $KTAP_N $2 # SKIP $3" ;;
	*) KTAP_FAIL=$((KTAP_FAIL + 1)); echo "not ok $KTAP_N $2" ;;
	esac
}

# check DESCRIPTION COMMAND...: passes when COMMAND succeeds. COMMAND's
# output is shown, as KTAP comments, only when it fails.
check() {
	local desc=$1
	shift
	if "$@" >/tmp/check.out 2>&1; then
		ktap_result pass "$desc"
	else
		sed 's/^/# /' /tmp/check.out | head -n 20
		ktap_result fail "$desc"
	fi
}

# check_errno ERRNO DESCRIPTION COMMAND...: passes when COMMAND exits with
# ERRNO (cfs-mount exits with the errno the kernel returned).
check_errno() {
	local want=$1 desc=$2 rc
	shift 2
	"$@" >/tmp/check_errno.err 2>&1
	rc=$?
	if [ "$rc" = "$want" ]; then
		ktap_result pass "$desc"
	else
		echo "# expected errno $want, got exit status $rc: $(cat /tmp/check_errno.err)"
		ktap_result fail "$desc"
	fi
}

# skip DESCRIPTION REASON
skip() {
	ktap_result skip "$1" "$2"
}

# same_output DESCRIPTION FILE1 FILE2: passes when the files are identical,
# else shows the first differences.
same_output() {
	if cmp -s "$2" "$3"; then
		ktap_result pass "$1"
	else
		diff "$2" "$3" | head -n 20 | sed 's/^/# /'
		ktap_result fail "$1"
	fi
}

# same_tree DESCRIPTION DIR: DIR's walk (cfs-walk) equals the reference's
# walk the script saved in $w/ref.txt.
same_tree() {
	cfs-walk "$2" >"$w/walk.txt" 2>&1
	same_output "$1" "$w/ref.txt" "$w/walk.txt"
}

ktap_finish() {
	echo "1..$KTAP_N"
	echo "# totals: $((KTAP_N - KTAP_FAIL - KTAP_SKIP)) pass, $KTAP_FAIL fail, $KTAP_SKIP skip"
	[ "$KTAP_FAIL" = 0 ]
	exit $?
}

# Reference stack: the same image through EROFS + overlayfs with the
# basedirs as data-only lower layers, as mount.composefs sets it up.
# ref_mount IMAGE TARGET BASEDIR[:BASEDIR...] [EXTRA_OVERLAY_OPTS] [EROFS_OPTS]
# EROFS_OPTS replaces the EROFS options mount.composefs would choose.
# REF_MOUNT_ARGS (e.g. -C) are passed to cfs-mount for the overlay mount.
ref_mount() {
	local img=$1 target=$2 bases=$3 extra=${4:-} opts=${5:-} erofs=$2.erofs
	mkdir -p "$erofs" "$target"
	if [ -z "$opts" ]; then
		# Without HAS_ACL in the header, mount.composefs mounts EROFS with noacl.
		opts=ro
		if [ "$(od -An -tu4 -j8 -N4 "$img" | tr -d ' ')" = 0 ]; then opts=ro,noacl; fi
	fi
	cfs-mount -t erofs -o "$opts" "$img" "$erofs" || return 1
	cfs-mount $REF_MOUNT_ARGS -t overlay -o "ro,metacopy=on,redirect_dir=on,lowerdir=$erofs::$(echo "$bases" | sed 's/:/::/g')$extra" composefs "$target" || {
		cfs-mount -u "$erofs"
		return 1
	}
	# Like mount.composefs: the overlay keeps the EROFS mount alive.
	cfs-mount -u -l "$erofs"
}

ref_umount() {
	cfs-mount -u "$1"
}

# Images from other writers (test_ostree.sh, test_cfsrs_repo.sh) hold the
# tree scripts/gen-writer-data.py writes; $d/contents.txt lists its regular
# files as tree_contents prints them, and etc/acl-file carries an ACL that
# lets uid 1000 read it.
#
# read_as_1000 FILE: "read" or "denied", as uid 1000.
read_as_1000() {
	grep -q '^cfsrs1000:' /etc/passwd || echo 'cfsrs1000:x:1000:1000::/:/bin/sh' >>/etc/passwd
	su cfsrs1000 -s /bin/sh -c "cat '$1'" >/dev/null 2>&1 && echo read || echo denied
}

# tree_contents ROOT: "md5  ./path" for every regular file under ROOT,
# sorted (one md5sum for all; names are split at newlines only).
tree_contents() {
	# shellcheck disable=SC2046
	(cd "$1" && set -f && IFS='
' && md5sum $(find . -type f | LC_ALL=C sort))
}

# compare_writer_image NAME IMAGE BASEDIR CFS_OPTS REF_OVERLAY_OPTS [EROFS_OPTS]:
# mounts IMAGE on the reference stack (ref_mount's extra options and EROFS
# options) and with composefs (basedir=BASEDIR,CFS_OPTS), then checks that
# the reference reads every file, that both trees and contents are equal,
# that the ACL reads the same, and that the files hold the writer's tree
# ($d/contents.txt). Uses $w for its files.
compare_writer_image() {
	local name=$1 img=$2 base=$3 opts=$4 r c
	if ! ref_mount "$img" /mnt/ref "$base" "$5" "${6:-}"; then
		ktap_result fail "$name: the reference stack mounts it"
		return
	fi
	cfs-walk /mnt/ref >"$w/ref.txt" 2>&1
	check "$name: the reference reads every file (no error in its walk)" \
		sh -c "! grep -E -e '-err=|differs' '$w/ref.txt'"
	if cfs-mount -t composefs -o "basedir=$base,$opts" "$img" /mnt/cfs; then
		same_tree "$name: tree and contents equal the reference's" /mnt/cfs
		r=$(read_as_1000 /mnt/ref/etc/acl-file) c=$(read_as_1000 /mnt/cfs/etc/acl-file)
		check "$name: the ACL lets uid 1000 read etc/acl-file, as on the reference ($r)" \
			[ "$r" = read -a "$c" = "$r" ]
		tree_contents /mnt/cfs >"$w/cfs-md5.txt"
		same_output "$name: the $(wc -l <"$d/contents.txt") regular files have the writer's tree's contents" \
			"$d/contents.txt" "$w/cfs-md5.txt"
		cfs-mount -u /mnt/cfs
	else
		ktap_result fail "$name: composefs mounts it with basedir=$base,$opts"
	fi
	ref_umount /mnt/ref
}

# read_result FILE: what reading FILE gives, comparable between stacks:
# "data <md5sum> <bytes>", or "error <message>" (cat's message without the path).
read_result() {
	if cat "$1" >/tmp/read_result.out 2>/tmp/read_result.err; then
		echo "data $(md5sum </tmp/read_result.out | cut -d' ' -f1) $(wc -c </tmp/read_result.out)"
	else
		echo "error $(sed 's/.*: //' /tmp/read_result.err)"
	fi
}

load_module() {
	grep -q '^composefs ' /proc/modules || modprobe composefs
}
