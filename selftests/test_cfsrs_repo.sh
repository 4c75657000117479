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
		compare_writer_image "$alg v$v (verity=require, its $alg digest)" "$img" "$repo/objects" \
			"verity=require,digest=$digest" ",verity=require" ro
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
