#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# composefs-rs repositories (the `composefs` crate bootc uses; written by
# tools/cfsrs-mkimage through scripts/gen-writer-repos.sh): a test tree
# imported into a sha256 and a sha512 repository, objects named
# objects/XX/<rest> by their fs-verity digest, the tree committed as an
# image in each format version (images/refs/v0, v1, v2). Here fs-verity is
# enabled on every object with the repository's algorithm, then each image
# is mounted as composefs-rs mounts it: basedir= the repository's objects/,
# verity required, and the image's own digest (its object name). Compared
# with the reference stack (EROFS "ro" as composefs-rs mounts it, and
# overlayfs with verity=require), and each file's content with the tree's.
. ./lib.sh
load_module

d=/attach/testdata/writers
mkdir -p /mnt/cfs /mnt/ref
nimg=$(wc -l <"$d/contents.txt" 2>/dev/null || echo 0)

# uid 1000 reads FILE: "read" or "denied".
grep -q '^cfsrs1000:' /etc/passwd || echo 'cfsrs1000:x:1000:1000::/:/bin/sh' >>/etc/passwd
read_as_1000() { su cfsrs1000 -s /bin/sh -c "cat '$1'" >/dev/null 2>&1 && echo read || echo denied; }

# (One md5sum for all: names are split at newlines only.)
contents() {
	# shellcheck disable=SC2046
	(cd "$1" && set -f && IFS='
' && md5sum $(find . -type f | LC_ALL=C sort))
}

for alg in sha256 sha512; do
	w=/scratch/cfsrs-$alg
	repo=$w/repo
	rm -rf "$w"
	mkdir -p "$w"
	if [ ! -e "$d/cfsrs-$alg/meta.json" ]; then
		ktap_result fail "$alg: composefs-rs wrote the repository (scripts/gen-writer-repos.sh)"
		continue
	fi
	cp -a "$d/cfsrs-$alg" "$repo"
	# Every object (file contents and images) gets fs-verity, and its name
	# must be the digest the kernel measures.
	# Files of up to 64 bytes are stored in the image, the others as
	# objects, one per content.
	objs=$(find "$repo/objects" -type f)
	n=$(echo "$objs" | wc -l)
	# shellcheck disable=SC2086
	check "$alg: fs-verity enabled on the $n objects" cfs-verity enable-all "$alg" $objs
	bad=0
	for f in $objs; do
		name=$(echo "${f#"$repo/objects/"}" | tr -d /)
		m=$(cfs-verity measure "$f")
		[ "$m" = "$alg:$name" ] || { echo "# $f measures $m"; bad=$((bad + 1)); }
	done
	want=$(($(cat "$d/cfsrs-objects.txt") + 3))
	check "$alg: each object is named by its $alg fs-verity digest ($n: the tree's contents over 64 bytes and 3 images, $want)" \
		[ "$n" = "$want" -a "$bad" = 0 ]
	for v in 0 1 2; do
		ref=$repo/images/refs/v$v
		img=$(readlink -f "$ref")
		if [ ! -f "$img" ]; then
			ktap_result fail "$alg v$v: images/refs/v$v leads to an image object"
			continue
		fi
		digest=$(cfs-verity measure "$img" | sed "s/^$alg://")
		ver=$(od -An -tu4 -j12 -N4 "$img" | tr -d ' ')
		check "$alg v$v: the header says composefs_version $v" [ "$ver" = "$v" ]
		if ref_mount "$img" /mnt/ref "$repo/objects" ",verity=require" ro; then
			cfs-walk /mnt/ref >"$w/ref.txt" 2>&1
			check "$alg v$v: the reference reads every file (no error in its walk)" \
				sh -c "! grep -E -e '-err=|differs' '$w/ref.txt'"
			if cfs-mount -t composefs -o "basedir=$repo/objects,verity=require,digest=$digest" \
				"$img" /mnt/cfs; then
				same_tree "$alg v$v: tree and contents equal the reference's" /mnt/cfs
				r=$(read_as_1000 /mnt/ref/etc/acl-file) c=$(read_as_1000 /mnt/cfs/etc/acl-file)
				check "$alg v$v: the ACL lets uid 1000 read etc/acl-file, as on the reference ($r)" \
					[ "$r" = read -a "$c" = "$r" ]
				contents /mnt/cfs >"$w/cfs-md5.txt"
				same_output "$alg v$v: the $nimg regular files have the imported tree's contents" \
					"$d/contents.txt" "$w/cfs-md5.txt"
				cfs-mount -u /mnt/cfs
			else
				ktap_result fail "$alg v$v: composefs mounts it with basedir=objects/, verity=require and its $alg digest"
			fi
			ref_umount /mnt/ref
		else
			ktap_result fail "$alg v$v: the reference stack mounts it"
		fi
	done

	# An object replaced by other content of the same size, fs-verity
	# enabled with the same algorithm: both stacks refuse it.
	img=$(readlink -f "$repo/images/refs/v1")
	line=$(grep ' \./usr/lib/large$' "$d/contents.txt")
	sum=${line%% *}
	# shellcheck disable=SC2086
	obj=$(md5sum $objs | grep "^$sum " | head -n1 | cut -c35-)
	if [ -n "$obj" ] && [ -f "$img" ]; then
		rm -f "$obj"
		head -c 300000 /dev/zero >"$obj"
		cfs-verity enable "$obj" "$alg"
		ref_mount "$img" /mnt/ref "$repo/objects" ",verity=require" ro
		cfs-mount -t composefs -o "basedir=$repo/objects,verity=require" "$img" /mnt/cfs
		r=$(read_result /mnt/ref/usr/lib/large) c=$(read_result /mnt/cfs/usr/lib/large)
		echo "# $alg: replaced object of usr/lib/large: reference: $r; composefs: $c"
		check "$alg: a replaced object fails to read on the reference" [ "${r%% *}" = error ]
		check "$alg: a replaced object fails to read on composefs, as on the reference" [ "$c" = "$r" ]
		check "$alg: the other files still read" cmp /mnt/cfs/block-4097 /mnt/ref/block-4097
		cfs-mount -u /mnt/cfs
		ref_umount /mnt/ref
	else
		ktap_result fail "$alg: the object of usr/lib/large is in the repository"
	fi
	rm -rf "$w"
done
ktap_finish
