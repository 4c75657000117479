#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The data path: a source tree is turned into an image and a store of
# fs-verity objects by the project's mkcomposefs on /scratch, then read
# through composefs and through the reference stack. Contents (read, mmap,
# splice) must equal the source's and the reference's; binaries run from the
# mount; fs-verity is enforced on open per verity=; objects share the page
# cache across images; missing, replaced and resized objects fail as the
# reference fails.
. ./lib.sh
load_module

w=/scratch/data
src=$w/src
mkdir -p "$src/bin" "$src/dir/sub" /mnt/cfs /mnt/cfs2 /mnt/ref

# The source tree: sizes around the inline limit and page/block boundaries,
# large files, duplicates (one shared object), a sparse file, executables.
for size in 0 1 64 65 100 4095 4096 4097 65536 200000; do
	head -c "$size" /dev/urandom >"$src/f$size"
done
head -c 5000000 /dev/urandom >"$src/big"
cp "$src/big" "$src/dir/big-copy"
cp "$src/f4097" "$src/dir/sub/dup"
dd if=/dev/urandom of="$src/sparse" bs=4096 count=2 seek=100 2>/dev/null
cp /bin/busybox "$src/bin/busybox"
printf '#!/bin/sh\necho script-ran-from-composefs\n' >"$src/bin/script"
chmod 755 "$src/bin/script"
chmod 600 "$src/f100"
ln -s ../big "$src/dir/link"

if ! mkcomposefs --digest-store="$w/store" "$src" "$w/img.cfs"; then
	ktap_result fail "mkcomposefs --digest-store"
	ktap_finish
fi
obj=$(find "$w/store" -type f | head -n 1)
check "stored objects have fs-verity enabled" cfs-verity measure "$obj"

mount_cfs() { # OPTIONS [IMAGE] [TARGET]
	cfs-mount -t composefs -o "$1" "${2:-$w/img.cfs}" "${3:-/mnt/cfs}"
}
compare_with_reference() { # DESCRIPTION: walk both stacks over the store, diff
	ref_mount "$w/img.cfs" /mnt/ref "$w/store" ",verity=on"
	mount_cfs "basedir=$w/store"
	cfs-walk /mnt/ref >"$w/ref.txt"
	cfs-walk /mnt/cfs >"$w/cfs.txt"
	same_output "$1" "$w/ref.txt" "$w/cfs.txt"
	cfs-mount -u /mnt/cfs
	ref_umount /mnt/ref
}
data_of() { # TREE: path and content fields of every regular file, by path
	cfs-walk "$1" | awk '/ mode=10/ { d = ""; for (i = 2; i <= NF; i++)
		if ($i ~ /^(data|open-err|read-err|mmap|splice)/) d = d " " $i; print $1 d }' | sort
}

check "composefs mounts the image" mount_cfs "basedir=$w/store"
check "reference stack mounts the image" ref_mount "$w/img.cfs" /mnt/ref "$w/store" ",verity=on"
# st_blocks before anything is opened (cfs-walk -n opens no file): overlayfs
# guesses round_up(size, blksize) >> 9 for a metacopy file whose data it has
# not looked up yet (ovl_getattr), EROFS reports the same for its own files.
cfs-walk -n -b /mnt/ref >"$w/ref.blocks"
cfs-walk -n -b /mnt/cfs >"$w/cfs.blocks"
same_output "st_blocks before any open equal the reference's" "$w/ref.blocks" "$w/cfs.blocks"
cfs-walk /mnt/ref >"$w/ref.txt"
cfs-walk /mnt/cfs >"$w/cfs.txt"
same_output "tree with contents equals the reference" "$w/ref.txt" "$w/cfs.txt"
# After the opens overlayfs reports the data files' own blocks (a listed
# difference); composefs's answers do not depend on what was opened before.
cfs-walk -n -b /mnt/cfs >"$w/cfs.blocks2"
same_output "st_blocks do not change once files were opened" "$w/cfs.blocks" "$w/cfs.blocks2"
data_of "$src" >"$w/src.data"
data_of /mnt/cfs >"$w/cfs.data"
same_output "contents (read, mmap, splice) equal the source tree's" "$w/src.data" "$w/cfs.data"
check "contents by cat equal the source's" cmp "$src/big" /mnt/cfs/big
# O_DIRECT/O_NOATIME/O_PATH and write opens, SEEK_DATA/SEEK_HOLE, fadvise,
# fsync, locks, copy_file_range, sendfile, statx, mmap: as the reference.
(cd /mnt/ref && cfs-fileops $(find . -type f | sort)) >"$w/ref.ops"
(cd /mnt/cfs && cfs-fileops $(find . -type f | sort)) >"$w/cfs.ops"
same_output "file operations behave as on the reference stack" "$w/ref.ops" "$w/cfs.ops"
# The same as an unprivileged user (listxattr leaves trusted.* out for it,
# after sizing the list as the mounter sees it).
fileops=$(command -v cfs-fileops)
files=$(cd /mnt/ref && find . -type f | sort | tr '\n' ' ')
(cd /mnt/ref && su nobody -s /bin/sh -c "$fileops $files") >"$w/ref.ops.user" 2>&1
(cd /mnt/cfs && su nobody -s /bin/sh -c "$fileops $files") >"$w/cfs.ops.user" 2>&1
same_output "file operations as a user behave as on the reference stack" "$w/ref.ops.user" "$w/cfs.ops.user"

check "a static binary runs from composefs" sh -c '[ "$(/mnt/cfs/bin/busybox echo ok)" = ok ]'
check "a script runs from composefs" sh -c '[ "$(/mnt/cfs/bin/script)" = script-ran-from-composefs ]'
check "/proc/self/maps names the composefs path" \
	sh -c '/mnt/cfs/bin/busybox cat /proc/self/maps | grep -q " /mnt/cfs/bin/busybox$"'
exec 3</mnt/cfs/big
check "/proc/self/fd names the composefs path" [ "$(readlink /proc/$$/fd/3)" = /mnt/cfs/big ]
exec 3<&-
check "write opens fail with EROFS" sh -c "sh -c ': >>/mnt/cfs/f100' 2>&1 | grep -q 'Read-only file system'"
check "non-root cannot read a 0600 file" sh -c '! su nobody -s /bin/sh -c "cat /mnt/cfs/f100" 2>/dev/null'
check "non-root reads a 0644 file" su nobody -s /bin/sh -c "cat /mnt/cfs/f65 >/dev/null"

# Page cache sharing: a second image naming the same object.
mkdir -p "$w/src2"
cp "$src/big" "$w/src2/other-name"
mkcomposefs --digest-store="$w/store" "$w/src2" "$w/img2.cfs"
echo 3 >/proc/sys/vm/drop_caches
mount_cfs "basedir=$w/store" "$w/img2.cfs" /mnt/cfs2
cat /mnt/cfs/big >/dev/null
set -- $(cfs-resident /mnt/cfs2/other-name)
check "a file read through one image is cached for another ($1/$2 pages)" [ "$1" = "$2" ]
cfs-mount -u /mnt/cfs2

# A file whose data is in the image (f64: inline) is read from the image's
# page cache: read(2) and splice leave no page of the file's own, where the
# reference's EROFS inode keeps one per file. mmap needs one.
echo 3 >/proc/sys/vm/drop_caches
cat /mnt/cfs/f64 >/dev/null
set -- $(cfs-resident /mnt/cfs/f64)
check "reading an inline file leaves no page of its own ($1 of $2 cached)" [ "$1" = 0 -a "$2" = 1 ]
check "and reads the source's bytes" cmp "$src/f64" /mnt/cfs/f64
differ=$(cfs-walk /mnt/cfs | grep -c -e ' splice-differs' -e ' splice-err' -e ' mmap-differs' -e ' mmap-err')
check "splice and mmap read what read(2) reads, every file ($differ differ)" [ "$differ" = 0 ]
set -- $(cfs-resident /mnt/cfs/f64)
check "mmap, which cfs-walk also reads through, gives it one ($1 of $2)" [ "$1" = 1 ]
ref_mount "$w/img.cfs" /mnt/ref "$w/store" ",verity=on"
echo 3 >/proc/sys/vm/drop_caches
cat /mnt/ref/f64 >/dev/null
set -- $(cfs-resident /mnt/ref/f64)
check "the reference keeps a page for the inline file read ($1 of $2)" [ "$1" = 1 ]
ref_umount /mnt/ref

# The mount keeps its last few image folios referenced (so they survive a
# page-cache drop); the superblock's shrinker (run by drop_caches' slab pass
# as by memory pressure) gives them back, and then they can be dropped.
cfs-walk /mnt/cfs >/dev/null
sync # dirty pages (the image was just written) are not dropped
echo 1 >/proc/sys/vm/drop_caches
set -- $(cfs-resident "$w/img.cfs")
check "a mounted image keeps recently read pages ($1 of $2 cached)" [ "$1" -gt 0 ]
echo 2 >/proc/sys/vm/drop_caches
echo 1 >/proc/sys/vm/drop_caches
set -- $(cfs-resident "$w/img.cfs")
check "the shrinker releases them ($1 of $2 still cached)" [ "$1" = 0 ]
check "the mount still reads after that" cmp "$src/f64" /mnt/cfs/f64
set -- $(cfs-resident "$w/img.cfs")
cfs-mount -u /mnt/cfs
echo 1 >/proc/sys/vm/drop_caches
set -- $1 $(cfs-resident "$w/img.cfs")
check "unmounting lets go of them ($1 cached before, $2 of $3 after)" [ "$1" -gt 0 -a "$2" = 0 ]

# The superblock's shrinker is asked per memory cgroup (and node), and gives
# back only the kept folios charged to the cgroup being reclaimed. A mount
# made and walked in cgroup A keeps its last image folios (charged to A);
# tasks of cgroup B then look up missing names (negative dentries charged
# to B, so the shrinker is asked for B; the image pages they read are
# cached already, charged to A). Reclaim of B must not take A's folios;
# reclaim of A gives them back.
cg=/sys/fs/cgroup
grep -q " $cg cgroup2 " /proc/mounts || mount -t cgroup2 none $cg 2>/dev/null
if grep -qw memory $cg/cgroup.controllers 2>/dev/null; then
	echo +memory >$cg/cgroup.subtree_control
	mkdir -p $cg/cfs-a $cg/cfs-b
	i=0
	while [ $i -lt 3000 ]; do
		echo "/f$i 1 100644 1 0 0 0 0.0 - x -"
		i=$((i + 1))
	done >"$w/many.dump"
	sed -i '1i / 4096 40755 2 0 0 0 0.0 - - -' "$w/many.dump"
	mkcomposefs --from-file "$w/many.dump" "$w/many.cfs"
	sync
	echo 3 >/proc/sys/vm/drop_caches
	echo 3 >/proc/sys/vm/drop_caches
	# Mounted from A too: the mount reads the image's first pages (with
	# readahead, most of this one), and a page is charged to the cgroup of
	# the task that brings it into the page cache.
	sh -c "echo \$\$ >$cg/cfs-a/cgroup.procs &&
		cfs-mount -t composefs -o basedir=$w/store $w/many.cfs /mnt/cfs2 &&
		exec cfs-walk /mnt/cfs2" >/dev/null
	sh -c "echo \$\$ >$cg/cfs-b/cgroup.procs && for i in \$(seq 200); do stat /mnt/cfs2/missing-\$i; done" >/dev/null 2>&1
	echo 1 >/proc/sys/vm/drop_caches
	set -- $(cfs-resident "$w/many.cfs")
	kept=$1
	echo 1G >$cg/cfs-b/memory.reclaim 2>/dev/null
	echo 1 >/proc/sys/vm/drop_caches
	set -- $kept $(cfs-resident "$w/many.cfs")
	check "reclaim of another cgroup leaves the kept folios charged to the walker's ($1 pages kept, $2 of $3 after)" \
		[ "$1" -gt 0 -a "$2" = "$1" ]
	echo 1G >$cg/cfs-a/memory.reclaim 2>/dev/null
	echo 1 >/proc/sys/vm/drop_caches
	set -- $(cfs-resident "$w/many.cfs")
	check "reclaim of the walker's cgroup gives them back ($1 of $2 still cached)" [ "$1" = 0 ]
	cfs-mount -u /mnt/cfs2
	rmdir $cg/cfs-a $cg/cfs-b
else
	ktap_result fail "the shrinker per memory cgroup: the guest has no cgroup2 memory controller"
fi
ref_umount /mnt/ref

# fs-verity enforcement: replace the object of f65 by different content.
digest_path() { # FILE-IN-MOUNT: the object's store path, from the image
	composefs-info dump "$w/img.cfs" | awk -v p="$1" '$1 == p { print $9 }'
}
f65obj=$w/store/$(digest_path /f65)
check "the image names f65's object" [ -f "$f65obj" ]
cp "$f65obj" "$w/f65.orig"
rm -f "$f65obj"
head -c 65 /dev/zero >"$f65obj"
mount_cfs "basedir=$w/store"
check_errno 0 "verity=on: other files still open" cat /mnt/cfs/f64
check "verity=on: an object without fs-verity fails to open" sh -c '! cat /mnt/cfs/f65 >/dev/null 2>&1'
cfs-mount -u /mnt/cfs
cfs-verity enable "$f65obj"
mount_cfs "basedir=$w/store"
check "verity=on: an object with another digest fails to open" sh -c '! cat /mnt/cfs/f65 >/dev/null 2>&1'
check "the failure names the composefs path in the kernel log" sh -c 'dmesg | grep -q "f65"'
dev=$(awk '$5 == "/mnt/cfs" { print $3 }' /proc/self/mountinfo)
check "the failure names the mount's device ($dev) in the kernel log" \
	sh -c "dmesg | grep -q 'composefs: (device $dev): /mnt/cfs/f65: backing object has'"
cfs-mount -u /mnt/cfs
mount_cfs "basedir=$w/store,verity=off"
check "verity=off: the replaced object is read as is" sh -c 'cmp /mnt/cfs/f65 '"$f65obj"
cfs-mount -u /mnt/cfs
# Differential: the same tampered store through the reference stack.
compare_with_reference "tampered object: errors equal the reference's"

# A missing object and an object of the wrong size.
rm -f "$f65obj"
mv "$w/store/$(digest_path /f4095)" "$w/f4095.orig"
compare_with_reference "missing object: errors equal the reference's"
{ cat "$w/f65.orig"; echo; } >"$f65obj"
# With verity=off overlayfs reads an object of another size as it is (it
# checks sizes nowhere); so does composefs.
ref_mount "$w/img.cfs" /mnt/ref "$w/store" ",verity=off"
mount_cfs "basedir=$w/store,verity=off"
ref=$(read_result /mnt/ref/f65) cfs=$(read_result /mnt/cfs/f65)
echo "# object of another size, verity=off: reference: $ref; composefs: $cfs"
check "an object whose size differs, verity=off: read as the reference reads it" [ "$ref" = "$cfs" ]
cfs-mount -u /mnt/cfs
ref_umount /mnt/ref
rm -f "$f65obj"
cp "$w/f65.orig" "$f65obj"
cfs-verity enable "$f65obj"
mv "$w/f4095.orig" "$w/store/$(digest_path /f4095)"

# Several basedirs: the first that has the object wins, later ones fill in.
mkdir -p "$w/first"
mount_cfs "basedir=$w/first:$w/store"
check "an object found only in the second basedir" cmp /mnt/cfs/big "$src/big"
cfs-mount -u /mnt/cfs

# Several basedirs, as overlayfs searches its data-only layers
# (ovl_lookup_data_layers, fs/overlayfs/namei.c): whatever fails in one
# basedir (a symlink or an unsearchable directory on the way, a directory, a
# symlink or a fifo at the object's path) moves on to the next; a regular file
# that cannot be read is found, and its open fails. Both stacks are mounted
# without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (cfs-mount -C), so that
# modes count for the mounter's credentials.
o=$(digest_path /f4097)
top=${o%%/*}
for kind in missing symlink dir fifo unsearchable unreadable symlinked-dir; do
	b1=$w/b1-$kind
	rm -rf "$b1"
	mkdir -p "$b1/$top"
	case $kind in
	symlink) ln -s "$w/store/$o" "$b1/$o" ;;
	dir) mkdir "$b1/$o" ;;
	fifo) mkfifo "$b1/$o" ;;
	unsearchable) cp "$w/store/$o" "$b1/$o"; chmod 0 "$b1/$top" ;;
	unreadable) cp "$w/store/$o" "$b1/$o"; chmod 0 "$b1/$o" ;;
	symlinked-dir) rmdir "$b1/$top"; ln -s "$w/store/$top" "$b1/$top" ;;
	esac
	REF_MOUNT_ARGS=-C ref_mount "$w/img.cfs" /mnt/ref "$b1:$w/store" ",verity=off"
	cfs-mount -C -t composefs -o "basedir=$b1:$w/store,verity=off" "$w/img.cfs" /mnt/cfs
	ref=$(read_result /mnt/ref/f4097) cfs=$(read_result /mnt/cfs/f4097)
	echo "# first basedir with a $kind object: reference: $ref; composefs: $cfs"
	# ovl_lookup_data_layer refuses anything but a regular file in a layer
	# with ENOENT, and ovl_lookup_data_layers then tries the next one.
	[ $kind = dir ] && check "reference: a directory in the first basedir falls through to the second" \
		[ "$ref" = "data $(md5sum <"$src/f4097" | cut -d' ' -f1) 4097" ]
	check "first basedir with a $kind object: read as on the reference" [ "$ref" = "$cfs" ]
	cfs-mount -u /mnt/cfs
	ref_umount /mnt/ref
	chmod -R u+rwx "$b1" 2>/dev/null
done

# Basedirs are private clones of their mounts, as overlayfs clones its layers
# (clone_private_mount in ovl_get_layers, fs/overlayfs/super.c): the user's
# own mount of a basedir can be unmounted while the stack uses it, and mounts
# made on directories beneath a basedir, before or after the stack was
# mounted, are not seen by object lookups. Each case runs on the reference
# first; composefs must do the same.
mkdir -p /mnt/store
for stack in ref cfs; do
	m=/mnt/$stack
	mount --bind "$w/store" /mnt/store
	if [ $stack = ref ]; then
		ref_mount "$w/img.cfs" $m /mnt/store ",verity=on"
	else
		mount_cfs "basedir=/mnt/store"
	fi
	cfs-mount -u /mnt/store
	echo "umount=$?" >"$w/clone.$stack"
	read_result $m/big >>"$w/clone.$stack"
	cfs-mount -u $m
	grep -q ' /mnt/store ' /proc/mounts && cfs-mount -u /mnt/store
	# A tmpfs on the object's directory beneath the basedir, before the
	# stack is mounted (f4097) and after (f4096).
	mount -t tmpfs none "$w/store/$top"
	if [ $stack = ref ]; then
		ref_mount "$w/img.cfs" $m "$w/store" ",verity=on"
	else
		mount_cfs "basedir=$w/store"
	fi
	o2=$(digest_path /f4096)
	mount -t tmpfs none "$w/store/${o2%%/*}"
	read_result $m/f4097 >>"$w/clone.$stack"
	read_result $m/f4096 >>"$w/clone.$stack"
	umount "$w/store/${o2%%/*}"
	cfs-mount -u $m
	umount "$w/store/$top"
done
sed 's/^/# reference: /' "$w/clone.ref"
check "reference: the basedir's mount unmounts while in use" grep -q '^umount=0$' "$w/clone.ref"
same_output "basedir mounts unmount, and mounts beneath are not seen, as on the reference" \
	"$w/clone.ref" "$w/clone.cfs"

# verity=require refuses external files without a digest in the image.
printf '/ 4096 40755 2 0 0 0 0.0 - - -\n/nodigest 65 100644 1 0 0 0 0.0 %s - -\n/digest 65 100644 1 0 0 0 0.0 %s - %s\n' \
	"$(digest_path /f65)" "$(digest_path /f65)" "$(digest_path /f65 | tr -d /)" >"$w/nd.dump"
mkcomposefs --from-file "$w/nd.dump" "$w/nd.cfs"
mount_cfs "basedir=$w/store,verity=require" "$w/nd.cfs"
check "verity=require: a file with a digest opens" cmp /mnt/cfs/digest "$src/f65"
check "verity=require: a file without a digest does not" sh -c '! cat /mnt/cfs/nodigest >/dev/null 2>&1'
cfs-mount -u /mnt/cfs
mount_cfs "basedir=$w/store" "$w/nd.cfs"
check "verity=on: a file without a digest opens" cmp /mnt/cfs/nodigest "$src/f65"
cfs-mount -u /mnt/cfs

# Metacopy values overlayfs reads differently from composefs's strict
# parser: at lookup it checks only the value's size (0 or at least 4 bytes,
# ovl_check_metacopy_xattr without a buffer), at open with verity on the
# version and length fields and the digest (ovl_validate_verity), and with
# verity=off nothing. One byte of f65's metacopy value (header 00 24 00 01,
# then the digest) is changed in place; stat and read are compared with the
# reference for each value, verity off and on.
# compare_mc IMAGE VERITY LABEL: stat and read of the image's /mc on both
# stacks, mounted with verity=VERITY, must agree.
compare_mc() {
	ref_mount "$1" /mnt/ref "$w/store" ",verity=$2"
	mount_cfs "basedir=$w/store,verity=$2" "$1"
	ref="$(stat -c %s /mnt/ref/mc 2>&1 | sed 's/.*: //') $(read_result /mnt/ref/mc)"
	cfs="$(stat -c %s /mnt/cfs/mc 2>&1 | sed 's/.*: //') $(read_result /mnt/cfs/mc)"
	echo "# $3, verity=$2: reference: $ref; composefs: $cfs"
	check "$3, verity=$2: stat and read as on the reference" [ "$ref" = "$cfs" ]
	cfs-mount -u /mnt/cfs
	ref_umount /mnt/ref
}
offset_of() { # FILE "HEX HEX ...": byte offset of the first occurrence
	od -An -v -tx1 "$1" | awk -v pat="$2" 'BEGIN { n = split(pat, p, " ") }
		{ for (i = 1; i <= NF; i++) b[++len] = $i }
		END { for (i = 1; i + n - 1 <= len; i++) {
			for (j = 1; j <= n && b[i + j - 1] == p[j]; j++);
			if (j > n) { print i - 1; exit } } }'
}
d65=$(digest_path /f65 | tr -d /)
printf '/ 4096 40755 2 0 0 0 0.0 - - -\n/mc 65 100644 1 0 0 0 0.0 %s - %s\n' "$(digest_path /f65)" "$d65" >"$w/mc.dump"
mkcomposefs --from-file "$w/mc.dump" "$w/mc.cfs"
mc=$(offset_of "$w/mc.cfs" "00 24 00 01 $(echo "$d65" | cut -c1-8 | sed 's/../& /g')")
check "the metacopy value is found in the image (offset $mc)" [ -n "$mc" ]
for variant in "flags 2 01" "algorithm 3 07" "version 0 01" "length 1 25"; do
	set -- $variant
	cp "$w/mc.cfs" "$w/mc-$1.cfs"
	printf "\\$(printf %03o "0x$3")" | dd of="$w/mc-$1.cfs" bs=1 seek=$((mc + $2)) conv=notrunc 2>/dev/null
	for v in off on; do
		compare_mc "$w/mc-$1.cfs" $v "metacopy $1 byte $3"
	done
done

# Metacopy values of 0 and 4 bytes, raw (cfs-mutate raw-overlay turns the
# dump's user.overlay.* xattrs into trusted.overlay.*, so that the value is
# not the one mkcomposefs writes; the file is empty in the dump, since
# mkcomposefs gives a file with data and no payload an empty metacopy value
# of its own, which would come first and hide the raw one): overlayfs marks
# a file as having a digest only if its value is longer than the 4-byte
# header (OVL_HAS_DIGEST in ovl_lookup, fs/overlayfs/namei.c) and validates
# only such files at open (ovl_maybe_validate_verity), so these open with
# verity=on whatever the header holds, and fail with verity=require. At open
# overlayfs looks the object up before it reads the value
# (ovl_verify_lowerdata): a malformed value (version 1) fails with EIO if
# the object is there, with ENOENT if it is missing. Nor does it limit a
# redirect's length at lookup: one of 4,200 bytes is stat'ed, and its open
# fails with ENAMETOOLONG (getname_kernel, fs/namei.c).
long=/$(printf '%04200d' 0 | tr 0 a)
bad_version="\\x01\\x24\\x00\\x01$(printf '\\xaa%.0s' $(seq 32))"
for case in "'' /$(digest_path /f65)" "\x00\x04\x00\x01 /$(digest_path /f65)" \
	"\x01\x04\x00\x07 /$(digest_path /f65)" "$bad_version /$(digest_path /f65)" \
	"$bad_version /zz/missing" "'' $long"; do
	value=${case%% *} redirect=${case#* }
	[ "$value" = "''" ] && value=
	printf '/ 4096 40755 2 0 0 0 0.0 - - -\n/mc 0 100644 1 0 0 0 0.0 - - - user.overlay.metacopy=%s user.overlay.redirect=%s\n' \
		"$value" "$redirect" >"$w/mc4.dump"
	mkcomposefs --from-file "$w/mc4.dump" "$w/mc4.cfs" && cfs-mutate raw-overlay "$w/mc4.cfs" >/dev/null
	for v in off on require; do
		compare_mc "$w/mc4.cfs" $v "raw metacopy '$(printf %s "$value" | cut -c1-16)' redirect $(printf %s "$redirect" | cut -c1-12)"
	done
	# The raw value is the one read (not hidden by another): the reference
	# refuses the malformed one when the object is there.
	if [ "$value" = "$bad_version" ] && [ "$redirect" != /zz/missing ]; then
		check "raw metacopy: the reference reads the raw value (EIO with verity=require)" \
			[ "${ref#*Input/output error}" != "$ref" ]
	fi
done

# Redirects cannot leave the basedir.
echo secret >"$w/secret"
printf '/ 4096 40755 2 0 0 0 0.0 - - -\n/up 7 100644 1 0 0 0 0.0 ../secret - -\n/abs 7 100644 1 0 0 0 0.0 /../../secret - -\n' >"$w/esc.dump"
mkcomposefs --from-file "$w/esc.dump" "$w/esc.cfs"
ln -sf "$w/secret" "$w/store/symlink-out"
printf '/sym 7 100644 1 0 0 0 0.0 symlink-out - -\n' >>"$w/esc.dump"
mkcomposefs --from-file "$w/esc.dump" "$w/esc.cfs"
mount_cfs "basedir=$w/store,verity=off" "$w/esc.cfs"
ref_mount "$w/esc.cfs" /mnt/ref "$w/store" ",verity=off"
for f in up abs sym; do
	ref=$(read_result /mnt/ref/$f) cfs=$(read_result /mnt/cfs/$f)
	echo "# escaping redirect $f: reference: $ref; composefs: $cfs"
	check "escaping redirect $f fails as on the reference ($ref)" \
		sh -c "[ '$ref' = '$cfs' ] && [ '${cfs%% *}' = error ]"
done
cfs-mount -u /mnt/cfs
ref_umount /mnt/ref
rm -f "$w/store/symlink-out"

# sha512 objects, as composefs-rs repositories hold them.
if mkcomposefs --hash=sha512 --digest-store="$w/store512" "$src" "$w/img512.cfs"; then
	mount_cfs "basedir=$w/store512,verity=require" "$w/img512.cfs"
	data_of /mnt/cfs >"$w/cfs512.data"
	same_output "sha512: contents equal the source tree's" "$w/src.data" "$w/cfs512.data"
	cfs-mount -u /mnt/cfs
	check "sha512: an object has a sha512 fs-verity digest" \
		sh -c "cfs-verity measure \$(find '$w/store512' -type f | head -n 1) | grep -q ^sha512:"
else
	ktap_result fail "mkcomposefs --hash=sha512"
fi

ktap_finish
