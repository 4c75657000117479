#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# overlayfs stacked on composefs, as container runtimes, ostree and bootc
# stack it: composefs mounts as the lower layers, an upper layer on tmpfs.
# Every case is run twice, once over composefs mounts and once over the
# reference stack (EROFS + overlayfs) mounts of the same images and store,
# with the same overlay options and the same operations; what the second
# gives is what the first must give: the results of each write, rename,
# delete and xattr call, the merged tree (cfs-walk, contents included) and
# the upper layer the top overlay wrote (its trusted.overlay.* xattrs tell
# how it copied up: metacopy, redirect, whiteouts).
. ./lib.sh
load_module

w=/scratch/otop
src=$w/src
U=/mnt/otop-up
mkdir -p "$src" "$w/store" "$w/empty" $U /mnt/c1 /mnt/c2 /mnt/r1 /mnt/r2 /mnt/e1 /mnt/ea /mnt/eb /mnt/fa /mnt/fb
# Upper and work directories live on a tmpfs, as a transient root's do.
cfs-mount -w -t tmpfs tmpfs $U

# The first image: inline and external files (the data of these comes from
# the store), directories to rename and delete, a file with user, trusted
# and security xattrs, a hard link, and a small root for chroot.
mkdir -p "$src/dir/sub" "$src/mvdir/sub" "$src/deldir/x" "$src/bin" "$src/etc" "$src/usr/lib"
head -c 200000 /dev/urandom >"$src/big"
head -c 5000 /dev/urandom >"$src/meta"
head -c 7000 /dev/urandom >"$src/meta2"
echo small >"$src/small"
echo a >"$src/dir/a"
head -c 9000 /dev/urandom >"$src/dir/b"
echo c >"$src/dir/sub/c"
echo x >"$src/mvdir/x"
head -c 6000 /dev/urandom >"$src/mvdir/sub/y"
echo d >"$src/deldir/x/d"
head -c 3000 /dev/urandom >"$src/xfile"
head -c 4097 /dev/urandom >"$src/f4097"
ln "$src/f4097" "$src/hard"
cp /bin/busybox "$src/bin/busybox"
echo 'NAME=cfs-test' >"$src/etc/os-release"
echo image-host >"$src/etc/hostname"
echo lib >"$src/usr/lib/lib.txt"
check "source: user.* xattr" cfs-op setxattr "$src/xfile" user.u one
check "source: trusted.* xattr" cfs-op setxattr "$src/xfile" trusted.t two
check "source: security.selinux xattr" cfs-op setxattr "$src/xfile" security.selinux system_u:object_r:usr_t:s0
check "source: security.* xattr" cfs-op setxattr "$src/xfile" security.test label
# The second image (a lower layer under the first): files only it has, a
# directory both have (merged), a file the first also has (hidden by it).
s2=$w/src2
mkdir -p "$s2/dir" "$s2/only2" "$s2/mvdir"
head -c 12000 /dev/urandom >"$s2/dir/from2"
echo shadowed >"$s2/small"
head -c 8000 /dev/urandom >"$s2/only2/data"
echo two >"$s2/mvdir/from2"
check "mkcomposefs: first image" mkcomposefs --digest-store="$w/store" "$src" "$w/img1.cfs"
check "mkcomposefs: second image" mkcomposefs --digest-store="$w/store" "$s2" "$w/img2.cfs"

# The lowers: composefs at /mnt/c1 and /mnt/c2, the reference at /mnt/r1
# and /mnt/r2; the first image's EROFS alone at /mnt/e1 (for section 6).
mount_lowers() {
	eopts=ro
	# Without HAS_ACL in the header, as ref_mount mounts EROFS.
	if [ "$(od -An -tu4 -j8 -N4 "$w/img1.cfs" | tr -d ' ')" = 0 ]; then eopts=ro,noacl; fi
	cfs-mount -t composefs -o "basedir=$w/store" "$w/img1.cfs" /mnt/c1 &&
		cfs-mount -t composefs -o "basedir=$w/store" "$w/img2.cfs" /mnt/c2 &&
		ref_mount "$w/img1.cfs" /mnt/r1 "$w/store" &&
		ref_mount "$w/img2.cfs" /mnt/r2 "$w/store" &&
		cfs-mount -t erofs -o $eopts "$w/img1.cfs" /mnt/e1
}
umount_lowers() {
	for m in /mnt/c1 /mnt/c2 /mnt/r1 /mnt/r2 /mnt/e1; do cfs-mount -u $m; done
}
if ! mount_lowers; then
	ktap_result fail "composefs and reference lowers mount"
	ktap_finish
fi

# top NAME LOWERDIR OPTIONS: an overlay at /mnt/t-NAME with upper and work
# directories in $U/NAME (made fresh unless KEEP is set).
top() {
	[ -n "$KEEP" ] || rm -rf "${U:?}/$1"
	mkdir -p "$U/$1/upper" "$U/$1/work" "/mnt/t-$1"
	cfs-mount -w -t overlay -o "lowerdir=$2,upperdir=$U/$1/upper,workdir=$U/$1/work$3" overlay "/mnt/t-$1"
}
# Walk filters: the merged root's attributes come from each overlay's own
# upper directory; written entries carry the time of the write; the
# trusted.overlay.origin xattr of a copied-up file holds a file handle of its
# lower file (of the lower filesystem, so different bytes for the two).
notimes='s/ mtime=[^ ]* ctime=[^ ]*//'
nofh='s/ xattr:trusted\.overlay\.origin=[0-9a-f]*/ xattr:trusted.overlay.origin=(handle)/'
# Which names of the top overlay are one inode (cfs-walk's same-inode-as)
# depends on whether overlayfs follows a copied-up file to its lower origin:
# it decodes the origin's file handle (ovl_check_origin, fs/overlayfs/namei.c)
# when the lower layer's handles decode and its uuid is usable
# (ovl_lower_uuid_ok, fs/overlayfs/super.c: a null uuid only where offline
# changes are not allowed, i.e. with redirect_dir, metacopy or index on).
# composefs decodes its handles and has a null uuid (as EROFS has for these
# images); the reference stack's overlayfs does not decode (a listed
# difference, composefs.rst). Where the origin is followed, a file keeps its
# inode across copy-up ("Inode properties" in
# Documentation/filesystems/overlayfs.rst: st_ino is constant across copy-up
# only for a lower layer whose handles decode), so a hard link made in the
# overlay to a lower file is the same inode as it over composefs, but not
# over the reference, whose copied-up file gets another inode number on its
# next lookup. So the walks compared with the reference leave same-inode-as
# out, and links_check checks it.
nolinks='s/ same-inode-as=[^ ]*//'
# walk_pair DESCRIPTION CFSDIR REFDIR [SED]: both walks (root line left out,
# filtered by SED) must be equal.
walk_pair() {
	cfs-walk "$3" | sed "1d; ${4:-}" >"$w/walk.ref"
	cfs-walk "$2" | sed "1d; ${4:-}" >"$w/walk.cfs"
	same_output "$1" "$w/walk.ref" "$w/walk.cfs"
}
# both NAME LOWERS-CFS LOWERS-REF OPTIONS DESCRIPTION: mount the same top
# overlay over each; passes when both mount, or both fail with one errno.
both() {
	top "cfs-$1" "$2" "$4"
	rc_cfs=$?
	top "ref-$1" "$3" "$4"
	rc_ref=$?
	echo "# $5: overlay over composefs: $rc_cfs, over the reference: $rc_ref"
	check "$5: mounts as over the reference (errno $rc_ref)" [ "$rc_cfs" = "$rc_ref" ]
	[ "$rc_cfs" = 0 ] && [ "$rc_ref" = 0 ] && return 0
	[ "$rc_cfs" = 0 ] && cfs-mount -u "/mnt/t-cfs-$1"
	[ "$rc_ref" = 0 ] && cfs-mount -u "/mnt/t-ref-$1"
	return 1
}
unmount_both() {
	cfs-mount -u "/mnt/t-cfs-$1"
	cfs-mount -u "/mnt/t-ref-$1"
}
# run M CMD...: CMD's exit status, one line, with the mount point as "M".
run() {
	m=$1
	shift
	"$@" >/dev/null 2>&1
	echo "$* -> $?" | sed "s|$m|M|g"
}

# The writes of a container on one composefs lower: new files, appends to an
# inline and to an external file (copy-up reads the store's data), renames
# of a file and of a lower directory (rename(2): EXDEV without redirect_dir,
# a redirect with it), deletes (whiteouts), xattr changes (copy-up copies the
# lower's user, trusted and security xattrs), chmod and chown (with metacopy
# a metadata-only copy-up), a hard link to a lower file.
ops_one() {
	m=$1
	run "$m" sh -c "echo new >$m/new-file"
	run "$m" sh -c "echo more >>$m/small"
	run "$m" sh -c "echo tail >>$m/big"
	run "$m" cfs-op rename "$m/dir/a" "$m/dir/a-renamed"
	run "$m" cfs-op rename "$m/mvdir" "$m/mvdir-renamed"
	# mv(1) copies what rename(2) refused.
	run "$m" sh -c "[ ! -d $m/mvdir ] || mv $m/mvdir $m/mvdir-renamed"
	run "$m" rm "$m/dir/b"
	run "$m" rm -r "$m/deldir"
	run "$m" cfs-op setxattr "$m/xfile" user.added 1
	run "$m" cfs-op setxattr "$m/xfile" security.added s
	run "$m" chmod 600 "$m/meta"
	run "$m" chown 12:34 "$m/meta2"
	run "$m" ln "$m/f4097" "$m/f4097-link"
	run "$m" mkdir "$m/dir/newdir"
	run "$m" sh -c "echo in-new >$m/dir/newdir/f"
	run "$m" cfs-op getxattr "$m/xfile" security.test
	run "$m" cfs-op getxattr "$m/xfile" security.selinux
	run "$m" cfs-op getxattr "$m/xfile" user.u
	run "$m" cfs-op getxattr "$m/xfile" trusted.t
}
# The same, with a second lower under the first.
ops_two() {
	ops_one "$1"
	m=$1
	run "$m" sh -c "echo appended >>$m/dir/from2"
	run "$m" chmod 640 "$m/only2/data"
	run "$m" cfs-op rename "$m/only2" "$m/only2-renamed"
	run "$m" rm "$m/mvdir-renamed/from2"
	run "$m" cfs-op rename "$m/dir" "$m/dir-renamed"
}

# links DIR: the entries of DIR that are an earlier entry's inode.
links() {
	cfs-walk -n "$1" | awk '{ for (i = 2; i <= NF; i++) if ($i ~ /^same-inode-as=/) print $1, $i }'
}
# links_check DESCRIPTION NAME OPTIONS: which entries are one inode, after
# ops_one, over composefs and over the reference (see nolinks above).
links_check() {
	links "/mnt/t-ref-$2" >"$w/links.ref"
	links "/mnt/t-cfs-$2" >"$w/links.cfs"
	sed 's/^/# over the reference: /' "$w/links.ref"
	sed 's/^/# over composefs: /' "$w/links.cfs"
	check "$1: names of one inode over the reference are one over composefs" \
		sh -c "! grep -vxF -f '$w/links.cfs' '$w/links.ref'"
	case $3 in
	*redirect_dir=on* | *metacopy=on* | *index=on*)
		check "$1: the origin is followed: the hard link made in the overlay is its source's inode" \
			grep -qx '/f4097-link same-inode-as=/f4097' "$w/links.cfs"
		;;
	*)
		# A null uuid where offline changes are allowed: not followed.
		same_output "$1: the origin is not followed: names of one inode as over the reference" \
			"$w/links.ref" "$w/links.cfs"
		;;
	esac
}

# The upper layers the two overlays wrote.
upper_pair() {
	walk_pair "$1" "$U/cfs-$2/upper" "$U/ref-$2/upper" "$notimes; $nofh"
}

# check_contents NAME: contents of copied-up and renamed external files
# after ops_one equal the source's.
check_contents() {
	m=/mnt/t-cfs-$1
	{ cat "$src/big"; echo tail; } >"$w/big.want"
	check "$1: the copied-up external file holds the store's data plus the append" cmp "$m/big" "$w/big.want"
	check "$1: the chmod'ed external file reads the store's data" cmp "$m/meta" "$src/meta"
	check "$1: the chown'ed external file reads the store's data" cmp "$m/meta2" "$src/meta2"
	check "$1: the renamed directory's external file reads the store's data" \
		cmp "$m/mvdir-renamed/sub/y" "$src/mvdir/sub/y"
}

# 1. One composefs lower, for each of: no redirects, redirect_dir=on, and
# redirect_dir=on,metacopy=on (the copy-up of chmod/chown is then metadata
# only: trusted.overlay.metacopy on the upper file, data from the lower).
n=0
for opts in ",redirect_dir=off" ",redirect_dir=on" ",redirect_dir=on,metacopy=on"; do
	n=$((n + 1))
	name=one$n
	if both $name /mnt/c1 /mnt/r1 "$opts" "one lower$opts"; then
		walk_pair "one lower$opts: merged tree before writes" /mnt/t-cfs-$name /mnt/t-ref-$name
		ops_one /mnt/t-ref-$name >"$w/ops-$name.ref"
		ops_one /mnt/t-cfs-$name >"$w/ops-$name.cfs"
		same_output "one lower$opts: every operation gives the reference's result" "$w/ops-$name.ref" "$w/ops-$name.cfs"
		walk_pair "one lower$opts: merged tree after writes" /mnt/t-cfs-$name /mnt/t-ref-$name "$notimes; $nolinks"
		links_check "one lower$opts" $name "$opts"
		upper_pair "one lower$opts: upper layer written as over the reference" $name
		check_contents $name
		unmount_both $name
		# Mounted again over fresh lower mounts, the upper layer (metacopy
		# files, redirects, whiteouts, origins) resolves as before.
		umount_lowers
		mount_lowers
		KEEP=1
		if both $name /mnt/c1 /mnt/r1 "$opts" "one lower$opts, mounted again on the same upper"; then
			walk_pair "one lower$opts, again: merged tree as over the reference" /mnt/t-cfs-$name /mnt/t-ref-$name "$notimes; $nolinks"
			unmount_both $name
		fi
		KEEP=
	fi
done
# What overlayfs documents for these cases, seen on the reference: rename(2)
# of a lower directory is EXDEV without redirect_dir
# (Documentation/filesystems/overlayfs.rst, "Renaming directories"), and a
# metadata-only copy-up leaves trusted.overlay.metacopy on the upper file
# ("Metadata only copy up").
sed 's/^/# redirect_dir=off, reference: /' "$w/ops-one1.ref"
check "reference: without redirect_dir a lower directory's rename is EXDEV" \
	grep -q 'rename M/mvdir M/mvdir-renamed -> 18$' "$w/ops-one1.ref"
check "reference: with redirect_dir=on it is renamed" \
	grep -q 'rename M/mvdir M/mvdir-renamed -> 0$' "$w/ops-one2.ref"
check "reference: metacopy=on made a metadata-only copy-up" \
	cfs-op getxattr "$U/ref-one3/upper/meta" trusted.overlay.metacopy
check "composefs: metacopy=on made a metadata-only copy-up" \
	cfs-op getxattr "$U/cfs-one3/upper/meta" trusted.overlay.metacopy
check "reference: redirect_dir=on wrote a redirect for the renamed directory" \
	cfs-op getxattr "$U/ref-one2/upper/mvdir-renamed" trusted.overlay.redirect
check "composefs: redirect_dir=on wrote a redirect for the renamed directory" \
	cfs-op getxattr "$U/cfs-one2/upper/mvdir-renamed" trusted.overlay.redirect

# 2. Two composefs lowers (as podman stacks one image per layer).
if both two /mnt/c1:/mnt/c2 /mnt/r1:/mnt/r2 ",redirect_dir=on,metacopy=on" "two lowers"; then
	walk_pair "two lowers: merged tree before writes" /mnt/t-cfs-two /mnt/t-ref-two
	ops_two /mnt/t-ref-two >"$w/ops.ref"
	ops_two /mnt/t-cfs-two >"$w/ops.cfs"
	same_output "two lowers: every operation gives the reference's result" "$w/ops.ref" "$w/ops.cfs"
	walk_pair "two lowers: merged tree after writes" /mnt/t-cfs-two /mnt/t-ref-two "$notimes"
	upper_pair "two lowers: upper layer written as over the reference" two
	check "two lowers: the second lower's file copied up holds its data plus the append" \
		sh -c "{ cat '$s2/dir/from2'; echo appended; } | cmp - /mnt/t-cfs-two/dir-renamed/from2"
	check "two lowers: the chmod'ed second-lower file reads its data" \
		cmp /mnt/t-cfs-two/only2-renamed/data "$s2/only2/data"
	unmount_both two
fi
# Read-only, without an upper layer.
mkdir -p /mnt/ro-cfs /mnt/ro-ref
if cfs-mount -t overlay -o lowerdir=/mnt/c1:/mnt/c2 overlay /mnt/ro-cfs &&
	cfs-mount -t overlay -o lowerdir=/mnt/r1:/mnt/r2 overlay /mnt/ro-ref; then
	walk_pair "two lowers, no upper: merged tree" /mnt/ro-cfs /mnt/ro-ref
else
	ktap_result fail "two lowers, no upper: both mount"
fi
cfs-mount -u /mnt/ro-cfs
cfs-mount -u /mnt/ro-ref

# 3. Images that carry overlay xattrs and whiteouts of their own, for the
# overlay above: a whiteout (a 0:0 character device in the dump, stored
# escaped), an xattr whiteout, an opaque directory, a directory redirect and
# a metacopy file redirected to the layer below. mkcomposefs escapes the
# dump's trusted.overlay.* names, so the lowers show them unescaped to the
# top overlay; a trusted.overlay.overlay.* name in the dump is shown escaped
# once to the top overlay, which shows it as trusted.overlay.*.
cat >"$w/a.dump" <<'EOF'
/ 4096 40755 2 0 0 0 0.0 - - -
/merged 4096 40755 2 0 0 0 0.0 - - -
/merged/a-only 2 100644 1 0 0 0 0.0 - a\x0a -
/merged/gone 0 20000 1 0 0 0 0.0 - - -
/opq 4096 40755 2 0 0 0 0.0 - - - trusted.overlay.opaque=y
/opq/a 2 100644 1 0 0 0 0.0 - a\x0a -
/xw 4096 40755 2 0 0 0 0.0 - - - trusted.overlay.opaque=x
/xw/hidden 0 100644 1 0 0 0 0.0 - - - trusted.overlay.whiteout=
/renamed 4096 40755 2 0 0 0 0.0 - - - trusted.overlay.redirect=/orig
/renamed/a 2 100644 1 0 0 0 0.0 - a\x0a -
/mc 12 100600 1 0 0 0 0.0 - AAAAAAAAAAAA - trusted.overlay.metacopy= trusted.overlay.redirect=/data
/esc 2 100644 1 0 0 0 0.0 - e\x0a - trusted.overlay.overlay.foo=bar user.x=y
EOF
cat >"$w/b.dump" <<'EOF'
/ 4096 40755 2 0 0 0 0.0 - - -
/merged 4096 40755 2 0 0 0 0.0 - - -
/merged/b-only 2 100644 1 0 0 0 0.0 - b\x0a -
/merged/gone 2 100644 1 0 0 0 0.0 - g\x0a -
/opq 4096 40755 2 0 0 0 0.0 - - -
/opq/b-hidden 2 100644 1 0 0 0 0.0 - b\x0a -
/xw 4096 40755 2 0 0 0 0.0 - - -
/xw/hidden 2 100644 1 0 0 0 0.0 - h\x0a -
/xw/shown 2 100644 1 0 0 0 0.0 - s\x0a -
/orig 4096 40755 2 0 0 0 0.0 - - -
/orig/o1 3 100644 1 0 0 0 0.0 - o1\x0a -
/data 12 100644 1 0 0 0 0.0 - DATA-from-b\x0a -
EOF
for v in 0 1; do
	mkcomposefs --min-version=$v --from-file "$w/a.dump" "$w/a$v.cfs" &&
		mkcomposefs --min-version=$v --from-file "$w/b.dump" "$w/b$v.cfs" || {
		ktap_result fail "mkcomposefs of the overlay-xattr images (version $v)"
		continue
	}
	if cfs-mount -t composefs "$w/a$v.cfs" /mnt/ea && cfs-mount -t composefs "$w/b$v.cfs" /mnt/eb &&
		ref_mount "$w/a$v.cfs" /mnt/fa "$w/empty" && ref_mount "$w/b$v.cfs" /mnt/fb "$w/empty"; then
		walk_pair "v$v overlay-xattr image: the lower shows what the reference shows" /mnt/ea /mnt/fa
		for opts in "" ",redirect_dir=on,metacopy=on"; do
			mkdir -p /mnt/esc-cfs /mnt/esc-ref
			if cfs-mount -t overlay -o "lowerdir=/mnt/ea:/mnt/eb$opts" overlay /mnt/esc-cfs &&
				cfs-mount -t overlay -o "lowerdir=/mnt/fa:/mnt/fb$opts" overlay /mnt/esc-ref; then
				walk_pair "v$v overlay-xattr images as lowers$opts: merged tree as over the reference" \
					/mnt/esc-cfs /mnt/esc-ref
				cfs-walk /mnt/esc-ref | cut -d' ' -f1 | tr '\n' ' ' >"$w/esc-names"
				echo "# reference's merged names: $(cat "$w/esc-names")"
			else
				ktap_result fail "v$v overlay-xattr images as lowers$opts: both mount"
			fi
			cfs-mount -u /mnt/esc-cfs
			cfs-mount -u /mnt/esc-ref
		done
		# With an upper layer: writes into the redirected, opaque and
		# whiteout-holding directories.
		if both esc$v /mnt/ea:/mnt/eb /mnt/fa:/mnt/fb ",redirect_dir=on,metacopy=on" "v$v overlay-xattr images with an upper"; then
			for m in /mnt/t-ref-esc$v /mnt/t-cfs-esc$v; do
				{
					run $m sh -c "echo w >>$m/renamed/o1"
					run $m sh -c "echo w >>$m/mc"
					run $m sh -c "echo new >$m/merged/gone"
					run $m rm $m/xw/shown
					run $m cfs-op rename $m/opq $m/opq2
					run $m cfs-op setxattr $m/esc user.y z
				} >"$w/ops.${m#/mnt/t-}"
			done
			same_output "v$v overlay-xattr images with an upper: operations as over the reference" \
				"$w/ops.ref-esc$v" "$w/ops.cfs-esc$v"
			walk_pair "v$v overlay-xattr images with an upper: merged tree as over the reference" \
				/mnt/t-cfs-esc$v /mnt/t-ref-esc$v "$notimes"
			upper_pair "v$v overlay-xattr images with an upper: upper layer as over the reference" esc$v
			unmount_both esc$v
		fi
	else
		ktap_result fail "v$v overlay-xattr images: composefs and the reference mount"
	fi
	for m in /mnt/ea /mnt/eb /mnt/fa /mnt/fb; do cfs-mount -u $m 2>/dev/null; done
done

# 4. An ostree-style transient root: the composefs mount as the overlay's
# only lower layer, upper and work on tmpfs (ostree-prepare-root's
# root.transient), used as the root of a chroot that reads and writes.
in_root() { # ROOT: what a session in the root does, one result per line
	m=$1
	# The root has no applet links: each command runs as busybox APPLET.
	chroot "$m" /bin/busybox sh -c 'b=/bin/busybox
		$b cat /etc/os-release /etc/hostname /usr/lib/lib.txt
		echo transient-host >/etc/hostname; echo "hostname: $? $($b cat /etc/hostname)"
		$b mkdir -p /var/tmp && echo v >/var/tmp/f; echo "var: $?"
		$b rm /usr/lib/lib.txt; echo "rm: $? $($b ls /usr/lib | $b wc -l)"
		$b md5sum /bin/busybox | $b cut -d" " -f1
		echo "$($b ls / | $b tr "\n" " ")"' 2>&1
}
if both os /mnt/c1 /mnt/r1 "" "ostree-style transient root"; then
	in_root /mnt/t-ref-os >"$w/os.ref"
	in_root /mnt/t-cfs-os >"$w/os.cfs"
	sed 's/^/# reference: /' "$w/os.ref"
	same_output "transient root: a session in the chroot sees and does what it does over the reference" \
		"$w/os.ref" "$w/os.cfs"
	walk_pair "transient root: merged tree as over the reference" /mnt/t-cfs-os /mnt/t-ref-os "$notimes"
	check "transient root: the session read the image's files" grep -qx "NAME=cfs-test" "$w/os.cfs"
	check "transient root: the session wrote /etc/hostname" grep -qx "hostname: 0 transient-host" "$w/os.cfs"
	check "transient root: the image's busybox runs from it" \
		sh -c "[ \"\$(chroot /mnt/t-cfs-os /bin/busybox echo ok)\" = ok ]"
	unmount_both os
fi

# 5. volatile: overlayfs skips syncing the upper layer and marks the work
# directory (work/incompat/volatile); a later mount on the same upper and
# work directories is refused until they are thrown away
# (Documentation/filesystems/overlayfs.rst, "Volatile mount").
if both vol /mnt/c1 /mnt/r1 ",volatile" "volatile"; then
	for m in ref cfs; do
		{
			run /mnt/t-$m-vol sh -c "echo v >>/mnt/t-$m-vol/small"
			run /mnt/t-$m-vol sync
			run /mnt/t-$m-vol sh -c "grep -o volatile /proc/mounts | head -n1"
		} >"$w/vol.$m"
	done
	same_output "volatile: operations as over the reference" "$w/vol.ref" "$w/vol.cfs"
	walk_pair "volatile: merged tree as over the reference" /mnt/t-cfs-vol /mnt/t-ref-vol "$notimes"
	check "volatile: the work directory is marked on composefs as on the reference" \
		sh -c "[ -d $U/cfs-vol/work/work/incompat/volatile ] && [ -d $U/ref-vol/work/work/incompat/volatile ]"
	unmount_both vol
	KEEP=1
	top cfs-vol /mnt/c1 ",volatile" 2>/dev/null
	rc_cfs=$?
	top ref-vol /mnt/r1 ",volatile" 2>/dev/null
	rc_ref=$?
	KEEP=
	echo "# volatile, mounted again on the same dirs: composefs $rc_cfs, reference $rc_ref"
	check "volatile, again on the same dirs: refused as over the reference (errno $rc_ref)" \
		[ "$rc_cfs" = "$rc_ref" ]
	check "reference: overlayfs refuses the second volatile mount" [ "$rc_ref" != 0 ]
	[ "$rc_cfs" = 0 ] && cfs-mount -u /mnt/t-cfs-vol
	[ "$rc_ref" = 0 ] && cfs-mount -u /mnt/t-ref-vol
fi

# 6. index=on and nfs_export=on. overlayfs keeps them only when every lower
# layer's file handles decode and no two lower layers share a null or equal
# uuid (ovl_can_decode_fh, ovl_lower_uuid_ok in fs/overlayfs/super.c), and
# otherwise falls back to index=off,nfs_export=off with a warning;
# nfs_export=on refuses metacopy=on. composefs decodes its handles, the
# reference's overlayfs does not (a listed difference, composefs.rst): over
# one lower, composefs keeps the features where the reference falls back;
# everything else, and the two-lower case, must be as over the reference.
feature_state() { # MOUNTPOINT: index= and nfs_export= as /proc/mounts shows them
	awk -v m="$1" '$2 == m { print $4 }' /proc/mounts | tr , '\n' | grep -E '^(index|nfs_export)=' | tr '\n' ' '
}
for case in "one:/mnt/c1:/mnt/r1:,index=on" "one:/mnt/c1:/mnt/r1:,index=on,nfs_export=on" \
	"two:/mnt/c1%/mnt/c2:/mnt/r1%/mnt/r2:,index=on,nfs_export=on" \
	"one:/mnt/c1:/mnt/r1:,nfs_export=on,metacopy=on"; do
	IFS=: read -r kind lc lr opts <<EOF
$case
EOF
	lc=$(echo "$lc" | tr % :) lr=$(echo "$lr" | tr % :)
	desc="$kind lower(s)$opts"
	if both idx "$lc" "$lr" "$opts" "$desc"; then
		sc=$(feature_state /mnt/t-cfs-idx) sr=$(feature_state /mnt/t-ref-idx)
		echo "# $desc: over composefs: $sc; over the reference: $sr"
		if [ $kind = one ]; then
			# The listed difference: compared with the same overlay over
			# the image's EROFS alone, whose handles decode and whose uuid
			# is null (its files' data and overlay xattrs do not matter for
			# what overlayfs decides at mount time).
			top ero-idx /mnt/e1 "$opts"
			se=$(feature_state /mnt/t-ero-idx)
			cfs-mount -u /mnt/t-ero-idx
			echo "# $desc: over EROFS: $se"
			check "$desc: the reference falls back to index=off (its lower's handles do not decode)" \
				sh -c "echo '$sr' | grep -vq 'index=on'"
			check "$desc: over composefs the features are those over an EROFS lower ($se)" \
				[ "$sc" = "$se" ]
		else
			check "$desc: features as over the reference ($sr)" [ "$sc" = "$sr" ]
		fi
		ops_one /mnt/t-ref-idx >"$w/ops.ref"
		ops_one /mnt/t-cfs-idx >"$w/ops.cfs"
		same_output "$desc: every operation gives the reference's result" "$w/ops.ref" "$w/ops.cfs"
		walk_pair "$desc: merged tree after writes" /mnt/t-cfs-idx /mnt/t-ref-idx "$notimes; $nolinks"
		if [ $kind = one ]; then
			links_check "$desc" idx "$opts"
		fi
		unmount_both idx
	fi
done

umount_lowers
cfs-mount -u $U
ktap_finish
