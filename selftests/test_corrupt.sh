#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Hostile images (issue 6, part 2): cfs-mutate derives CORRUPT_COUNT
# (default 100: image i takes class i mod 23 and base i mod 2, so every
# class meets both bases twice; `make fuzz` runs 5000) corrupt images from two valid ones (bit flips and targeted
# damage of the header, superblock, inodes, directory entries and names,
# xattrs, shared xattr ids, chunk indexes, symlinks; directory loops and
# hard-linked directories; truncation). Each is mounted; a mount may fail with
# an errno. A mounted image is walked completely (readdir, lookup, stat,
# readlink, listxattr/getxattr, read, mmap) under a time limit and unmounted.
# Where the reference stack (EROFS + overlayfs) mounts the same image too,
# the two walks are compared: composefs may fail where the reference
# succeeds (it checks more: EUCLEAN/EIO), but any other difference (another
# value where both succeed, success where the reference fails, entries only
# composefs lists) is a divergence (CORRUPT_REF_EVERY=N compares every Nth
# mounted mutant, default 4). Afterwards the module must unload. vm-run fails the run on any oops, BUG,
# WARN, lockdep, KFENCE or kmemleak report. Images are reproducible on the
# host: cfs-mutate gen -s SEED -f INDEX -n 1 with the same base images.
# CORRUPT_FSTYPE=erofs runs the same images through the kernel's EROFS (the
# reference reader of the format) instead.
. ./lib.sh
load_module

fstype=${CORRUPT_FSTYPE:-composefs}

count=${CORRUPT_COUNT:-100}
seed=${CORRUPT_SEED:-1}
batch=200
walk_limit=${CORRUPT_WALK_SECONDS:-60}
w=/scratch/corrupt
src=$w/src
mnt=/mnt/corrupt
rm -rf "$w"
mkdir -p "$src/dir/sub/deep" "$src/big" "$w/imgs" "$mnt" /mnt/corrupt-ref

# Base image 1: a directory tree with a store of fs-verity objects, so that
# walks of mounted mutants open and read backing files.
# Deterministic contents and mtimes (--use-epoch): the base images, and so
# every mutant, are the same on every run (their md5sums are printed).
for size in 0 1 100 4095 4096 4097 70000; do
	yes "composefs corrupt $size" | head -c "$size" >"$src/f$size"
done
cp "$src/f4097" "$src/dir/sub/dup"
ln -s f100 "$src/link"
ln -s "$(printf '%03000d' 0)" "$src/longlink"
ln "$src/f100" "$src/dir/hard"
mknod "$src/dir/chr" c 1 3
mknod "$src/dir/blk" b 7 0
mkfifo "$src/dir/fifo"
i=0
while [ $i -lt 120 ]; do
	echo $i >"$src/big/entry-with-a-longer-name-$i"
	i=$((i + 1))
done
echo deep >"$src/dir/sub/deep/file"
mkcomposefs --use-epoch --digest-store="$w/objects" "$src" "$w/base-dir.cfs" || {
	ktap_result fail "mkcomposefs of the base tree"
	ktap_finish
}
# Make sure every object has fs-verity (EEXIST if mkcomposefs enabled it).
find "$w/objects" -type f | while read -r f; do cfs-verity enable "$f" >/dev/null 2>&1; done

# Base image 2: from a dump, with xattrs (shared and inline, escaped overlay
# names, ACL, security), devices, a whiteout, long names and symlinks, an
# inline file and an external file backed by one of the stored objects.
obj=$(composefs-info dump "$w/base-dir.cfs" | awk '$1 == "/f4097" { print $9 }')
dig=$(composefs-info dump "$w/base-dir.cfs" | awk '$1 == "/f4097" { print $11 }')
long=$(printf '%0255d' 7)
cat >"$w/base.dump" <<DUMP
/ 4096 40755 4 0 0 0 100.0 - - - user.root=1 trusted.overlay.opaque=y
/a 5 100644 1 0 0 0 100.0 - hello - user.x=y trusted.overlay.nested=z security.selinux=system_u:object_r:etc_t:s0
/b 4097 100644 1 1000 1000 0 200.5 $obj - $dig user.shared=v
/c 4097 100640 1 70000 70000 0 300.0 $obj - $dig user.shared=v user.other=w
/d 4096 40755 2 0 0 0 0.0 - - - user.shared=v
/d/$long 0 100644 1 0 0 0 0.0 - - -
/d/w 0 20000 1 0 0 0 0.0 - - -
/e 4096 40700 2 0 0 0 0.0 - - - system.posix_acl_default=\x02\x00\x00\x00\x01\x00\x07\x00\xff\xff\xff\xff\x04\x00\x05\x00\xff\xff\xff\xff\x20\x00\x05\x00\xff\xff\xff\xff
/e/chr 0 20644 1 0 0 1025 0.0 - - -
/e/sym 3000 120777 1 0 0 0 0.0 $(printf '%03000d' 1) - -
/e/inline 4000 100644 1 0 0 0 0.0 - $(printf '%04000d' 2) -
DUMP
mkcomposefs --from-file "$w/base.dump" "$w/base-dump.cfs" || {
	ktap_result fail "mkcomposefs of the base dump"
	ktap_finish
}

echo "# base images: $(md5sum "$w/base-dir.cfs" "$w/base-dump.cfs" | awk '{ printf "%s %s ", $2, $1 }')"

# walk_divergences REF CFS: the entries of cfs-walk output CFS that differ
# from REF other than by an error where REF has a value; entries of REF that
# CFS lacks count only if composefs listed every directory without an error.
walk_divergences() {
	awk '
	function iserr(k, v) { return k ~ /-err$/ || v ~ /^err/ }
	function fields(line, a,   n, t, i, k, v, p) {
		n = split(line, t, " ")
		for (i = 2; i <= n; i++) {
			k = t[i]; v = ""
			if ((p = index(k, "=")) > 0) { v = substr(k, p + 1); k = substr(k, 1, p - 1) }
			a[k] = v
		}
	}
	# A directory that could not be listed has a line of its own (the
	# path, empty for the root, and the error): keyed apart from its entry.
	function key(   k) { k = $0 ~ /^[^ ]* ?(opendir|readdir)-err=[0-9]*$/ ? $1 " (listing)" : $1
		return k ~ /^(opendir|readdir)-err/ ? "/ (listing)" : k }
	FNR == NR { ref[key()] = $0; next }
	{
		k = key()
		seen[k] = 1
		if (k ~ / \(listing\)$/) { listerr = 1; next }
		if (!(k in ref)) { print "only in composefs: " $0; next }
		$1 = k
		if (ref[$1] == $0) next
		split("", r); split("", c); fields(ref[$1], r); fields($0, c)
		cerr = 0
		for (k in c) if (iserr(k, c[k])) cerr = 1
		if (cerr) failed[$1] = 1
		bad = 0
		for (k in c) if (!iserr(k, c[k]) && (!(k in r) || r[k] != c[k])) bad = 1
		for (k in r) if (!(k in c) && !cerr) bad = 1
		if (bad) print "differs: " ref[$1] " | " $0
	}
	# Whether composefs failed on path p or a directory above it (it may be
	# stricter): then what the reference found there or below is not asked of it.
	function under_failed(p,   q) {
		q = p; sub(/ \(listing\)$/, "", q)
		while (q != "") {
			if (q in failed) return 1
			if (!sub(/\/[^\/]*$/, "", q)) break
		}
		return 0
	}
	END {
		for (p in ref)
			if (!(p in seen) && (p ~ / \(listing\)$/ || !listerr) && !under_failed(p))
				print "only in the reference: " ref[p]
	}
	' "$1" "$2"
}

mount_img() {
	if [ "$fstype" = composefs ]; then
		cfs-mount -t composefs -o "basedir=$w/objects" "$1" "$mnt" 2>/dev/null
	else
		cfs-mount -t "$fstype" -o ro "$1" "$mnt" 2>/dev/null
	fi
}

# The valid base images must mount and walk; this also tells whether the
# kernel side can mount at all.
mount_img "$w/base-dir.cfs"
rc=$?
if [ "$rc" = 95 ]; then
	echo "# mounting a valid image failed with EOPNOTSUPP: the filesystem cannot mount yet"
	skip "corrupt images mounted, walked and unmounted" "mount is not implemented (EOPNOTSUPP)"
	check "rmmod composefs" rmmod composefs
	ktap_finish
fi
if [ "$rc" = 0 ]; then
	cfs-walk "$mnt" >"$w/base-dir.walk" 2>&1
	check "valid base image (tree) walks without errors" sh -c "! grep err $w/base-dir.walk"
	cfs-mount -u "$mnt"
else
	ktap_result fail "valid base image (tree) mounts (errno $rc)"
fi
if mount_img "$w/base-dump.cfs"; then
	cfs-walk "$mnt" >"$w/base-dump.walk" 2>&1
	check "valid base image (dump) walks without errors" sh -c "! grep err $w/base-dump.walk"
	cfs-mount -u "$mnt"
else
	ktap_result fail "valid base image (dump) mounts"
fi

# Lookups in a directory whose names are out of order do not depend on the
# lookups made before: two names of one directory block are swapped in
# place, then each name is looked up first on a fresh mount, and all of them
# again in readdir order on one mount (where a hint from the previous
# lookup could find a name the search alone misses).
if [ "$fstype" = composefs ]; then
	{
		printf '/ 4096 40755 3 0 0 0 0.0 - - -\n/d 4096 40755 2 0 0 0 0.0 - - -\n'
		i=0
		while [ $i -lt 20 ]; do printf '/d/n%02d 0 100644 1 0 0 0 0.0 - - -\n' $i; i=$((i + 1)); done
	} >"$w/order.dump"
	mkcomposefs --from-file "$w/order.dump" "$w/order.cfs"
	run=$(strings -t d -n 20 "$w/order.cfs" | grep 'n00n01n02' | head -n 1)
	at=$(echo "$run" | awk '{ print $1 + index($2, "n05") - 1, $1 + index($2, "n15") - 1 }')
	set -- $at
	printf n15 | dd of="$w/order.cfs" bs=1 seek="$1" conv=notrunc 2>/dev/null
	printf n05 | dd of="$w/order.cfs" bs=1 seek="$2" conv=notrunc 2>/dev/null
	names=$(i=0; while [ $i -lt 20 ]; do printf 'n%02d ' $i; i=$((i + 1)); done)
	: >"$w/order.fresh"
	for n in $names; do
		cfs-mount -t composefs "$w/order.cfs" "$mnt" 2>/dev/null || break
		if stat "$mnt/d/$n" >/dev/null 2>&1; then echo "$n found"; else echo "$n absent"; fi >>"$w/order.fresh"
		cfs-mount -u "$mnt"
	done
	if cfs-mount -t composefs "$w/order.cfs" "$mnt"; then
		# cfs-walk lstats each entry in readdir order, right after readdir.
		cfs-walk -n "$mnt/d" | awk 'NR > 1 { print substr($1, 2), ($0 ~ /lstat-err/ ? "absent" : "found") }' >"$w/order.walk"
		cfs-mount -u "$mnt"
		echo "# in readdir order: $(tr '\n' ' ' <"$w/order.walk")"
		sort "$w/order.walk" >"$w/order.inorder"
		sort "$w/order.fresh" >"$w/order.fresh.sorted"
		echo "# found on a fresh mount: $(grep -c found "$w/order.fresh.sorted") of 20"
		check "swapped names: the names were swapped in place" sh -c "head -n 6 '$w/order.walk' | grep -q n15"
		same_output "swapped names: lookups in readdir order find what fresh lookups find" \
			"$w/order.fresh.sorted" "$w/order.inorder"
		# The reference's lookups (erofs_namei) over the same damaged block.
		if ref_mount "$w/order.cfs" /mnt/corrupt-ref "$w/objects"; then
			for n in $names; do
				if stat "/mnt/corrupt-ref/d/$n" >/dev/null 2>&1; then echo "$n found"; else echo "$n absent"; fi
			done | sort >"$w/order.ref"
			ref_umount /mnt/corrupt-ref
			echo "# found on the reference stack: $(grep -c found "$w/order.ref") of 20"
			same_output "swapped names: lookups find what the reference's find" \
				"$w/order.ref" "$w/order.fresh.sorted"
		else
			ktap_result fail "swapped names: the reference stack mounts the image"
		fi
	else
		ktap_result fail "swapped names: the image mounts"
	fi
fi

# The mutants, in batches so that /scratch holds few at a time.
echo "# $count corrupt images, seed $seed, mounted as $fstype"
: >"$w/results"
: >"$w/compared"
nwalked=0
hangs=0 stuck=0 first=0
start=$(date +%s)
while [ $first -lt "$count" ]; do
	n=$batch
	[ $((first + n)) -gt "$count" ] && n=$((count - first))
	rm -f "$w/imgs"/*
	cfs-mutate gen -s "$seed" -f "$first" -n "$n" -o "$w/imgs" \
		"$w/base-dir.cfs" "$w/base-dump.cfs" >"$w/manifest" || {
		ktap_result fail "cfs-mutate gen"
		break
	}
	while read -r img class desc; do
		mount_img "$img"
		rc=$?
		if [ "$rc" != 0 ]; then
			echo "$class refused $rc" >>"$w/results"
			continue
		fi
		timeout "$walk_limit" cfs-walk "$mnt" >"$w/walk.out" 2>&1
		wrc=$?
		# Entries seen, and entries on which some operation failed (cfs-walk
		# records errnos in its output and goes on).
		lines=$(wc -l <"$w/walk.out")
		errs=$(grep -c 'err' "$w/walk.out")
		# A few operations cfs-walk does not do: lookups of absent and odd names.
		ls "$mnt/absent" "$mnt/.." "$mnt/00" >/dev/null 2>&1
		stat "$mnt/." >/dev/null 2>&1
		if [ "$wrc" = 124 ] || [ "$wrc" = 143 ] || [ "$wrc" = 137 ]; then
			echo "# HANG: walk of $(basename "$img") ($class: $desc) exceeded ${walk_limit}s"
			hangs=$((hangs + 1))
		fi
		if ! cfs-mount -u "$mnt" 2>/dev/null; then
			echo "# umount of $(basename "$img") ($class: $desc) failed; detaching"
			cfs-mount -u -l "$mnt"
			stuck=$((stuck + 1))
		fi
		echo "$class mounted $wrc $lines $errs" >>"$w/results"
		# The reference, where it mounts the image too (every
		# CORRUPT_REF_EVERY-th mutant that composefs walked, default 4, to
		# bound the run time: each comparison mounts and walks twice more).
		nwalked=$((nwalked + 1))
		if [ "$fstype" = composefs ] && [ "$wrc" = 0 ] &&
			[ $((nwalked % ${CORRUPT_REF_EVERY:-4})) = 0 ] &&
			ref_mount "$img" /mnt/corrupt-ref "$w/objects" ",verity=on" 2>/dev/null; then
			timeout "$walk_limit" cfs-walk /mnt/corrupt-ref >"$w/ref.out" 2>&1
			if [ $? = 0 ]; then
				walk_divergences "$w/ref.out" "$w/walk.out" >"$w/div.out"
				if [ -s "$w/div.out" ]; then
					echo "# DIVERGENCE: $(basename "$img") ($class: $desc)"
					head -n 3 "$w/div.out" | cut -c1-400 | sed 's/^/#   /'
					echo "$class diverged" >>"$w/compared"
				else
					echo "$class same" >>"$w/compared"
				fi
			fi
			ref_umount /mnt/corrupt-ref 2>/dev/null || cfs-mount -u -l /mnt/corrupt-ref
		fi
	done <"$w/manifest"
	first=$((first + n))
done
rm -f "$w/imgs"/*
secs=$(($(date +%s) - start))

# Per-class counts and the errnos mounts were refused with.
awk '{ c[$1] = 1; if ($2 == "mounted") { m[$1]++; if ($5 > 0) we[$1]++ } else r[$1]++ }
	END { for (k in c) printf "# %-16s %4d mounted (%4d with errors in the walk), %4d refused\n", k, m[k], we[k], r[k] }' \
	"$w/results" | sort
awk '$2 == "mounted" { n += $4; e += $5 } END { print "# walks: " n " entries seen, " e " with a failed operation" }' "$w/results"
awk '$2 == "refused" { e[$3]++ } END { s = ""; for (k in e) s = s " errno" k "=" e[k]; print "# refusals by errno:" s }' \
	"$w/results"
total=$(wc -l <"$w/results")
mounted=$(grep -c ' mounted ' "$w/results")
echo "# $total images in ${secs}s: $mounted mounted and walked, $((total - mounted)) refused"
check "all $count corrupt images tried" [ "$total" = "$count" ]
compared=$(wc -l <"$w/compared")
diverged=$(grep -c ' diverged$' "$w/compared")
echo "# $compared mounted images walked on the reference stack too: $diverged diverged"
if [ "$fstype" = composefs ]; then
	check "walks of corrupt images equal the reference's where both mount ($diverged of $compared differ)" \
		[ "$diverged" = 0 ]
fi
check "no walk of a corrupt image hung" [ "$hangs" = 0 ]
check "every mounted corrupt image unmounted" [ "$stuck" = 0 ]
check "rmmod composefs after the corrupt images" rmmod composefs
ktap_finish
