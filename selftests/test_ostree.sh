#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Images written by ostree (Debian's, with composefs support; see
# scripts/gen-writer-repos.sh): `ostree commit --generate-composefs-metadata`
# of a test tree, then `ostree checkout --composefs` and
# `--composefs-noverity`. Mounted as ostree mounts them at boot: the
# repository's objects/ as basedir (objects are named XX/<sha256>.file by
# ostree's own checksum, so every redirect must be followed as stored, never
# derived from the fs-verity digest), verity required, and the image's
# digest from the commit. Compared with the reference stack over the same
# image and objects, and each file's content with the committed tree's.
. ./lib.sh
load_module

d=/attach/testdata/writers
w=/scratch/ostree
rm -rf "$w"
mkdir -p "$w" /mnt/cfs /mnt/ref

if [ ! -e "$d/ostree/ostree.cfs" ]; then
	ktap_result fail "ostree's images were written (scripts/gen-writer-repos.sh)"
	ktap_finish
fi
# The objects go to /scratch (ext4 with the verity feature).
cp -a "$d/ostree/objects" "$w/"
cp "$d/ostree/ostree.cfs" "$d/ostree/ostree-noverity.cfs" "$w/"
objs=$(find "$w/objects" -name '*.file' -type f)
n=$(echo "$objs" | wc -l)
# shellcheck disable=SC2086
check "fs-verity enabled on the repository's $n .file objects" cfs-verity enable-all sha256 $objs
nimg=$(wc -l <"$d/contents.txt")

# The image's fs-verity digest is what the signed commit records.
cfs-verity enable "$w/ostree.cfs"
digest=$(cfs-verity measure "$w/ostree.cfs" | sed 's/^sha256://')
check "ostree.cfs: its fs-verity digest is the commit's ostree.composefs.digest.v0" \
	[ "$digest" = "$(cat "$d/ostree/digest.txt")" ]

# ostree.cfs, as ostree's prepare-root mounts it.
compare_writer_image "ostree.cfs (verity=require, digest=)" "$w/ostree.cfs" "$w/objects" \
	"verity=require,digest=$digest" ",verity=require"
# A digest other than the commit's is refused.
case $digest in 0*) other=1${digest#?} ;; *) other=0${digest#?} ;; esac
check "ostree.cfs: another digest= is refused" sh -c \
	"! cfs-mount -t composefs -o 'basedir=$w/objects,digest=$other' '$w/ostree.cfs' /mnt/cfs"

# Replace one object with other content of the same size (verity on, so
# only the digest in the image can tell): both stacks refuse to read it,
# and the other files still read.
line=$(grep ' \./etc/conf$' "$d/contents.txt")
sum=${line%% *}
# shellcheck disable=SC2046
obj=$(cd "$w/objects" && md5sum $(find . -name '*.file' -type f) | grep "^$sum " | head -n1 | cut -c35-)
[ -z "$obj" ] || obj=$w/objects/${obj#./}
if [ -n "$obj" ]; then
	size=$(wc -c <"$obj")
	rm -f "$obj"
	head -c "$size" /dev/zero | tr '\0' x >"$obj"
	cfs-verity enable "$obj"
	ref_mount "$w/ostree.cfs" /mnt/ref "$w/objects" ",verity=require"
	cfs-mount -t composefs -o "basedir=$w/objects,verity=require" "$w/ostree.cfs" /mnt/cfs
	r=$(read_result /mnt/ref/etc/conf) c=$(read_result /mnt/cfs/etc/conf)
	echo "# replaced object of etc/conf: reference: $r; composefs: $c"
	check "a replaced object (other fs-verity digest) fails to read on the reference" [ "${r%% *}" = error ]
	check "a replaced object fails to read on composefs, as on the reference" [ "$c" = "$r" ]
	check "the other files still read" cmp /mnt/cfs/etc/name\ with\ space /mnt/ref/etc/name\ with\ space
	cfs-mount -u /mnt/cfs
	ref_umount /mnt/ref
	# Restore it for the next image.
	rm -f "$obj"
	cp -a "$d/ostree/objects/${obj#"$w/objects/"}" "$obj"
	cfs-verity enable "$obj"
else
	ktap_result fail "the object of etc/conf is among the repository's objects"
fi

# ostree-noverity.cfs: no digests in the image (for repositories on
# filesystems without fs-verity). Mounted with verity=on it reads like the
# reference; verity=require refuses its files on both stacks.
if ref_mount "$w/ostree-noverity.cfs" /mnt/ref "$w/objects" ",verity=on"; then
	cfs-walk /mnt/ref >"$w/ref.txt" 2>&1
	cfs-mount -t composefs -o "basedir=$w/objects,verity=on" "$w/ostree-noverity.cfs" /mnt/cfs
	same_tree "ostree-noverity.cfs (verity=on): tree and contents equal the reference's" /mnt/cfs
	tree_contents /mnt/cfs >"$w/cfs-md5.txt"
	same_output "ostree-noverity.cfs: the $nimg regular files have the committed tree's contents" \
		"$d/contents.txt" "$w/cfs-md5.txt"
	cfs-mount -u /mnt/cfs
	ref_umount /mnt/ref
else
	ktap_result fail "ostree-noverity.cfs: the reference stack mounts it"
fi
if ref_mount "$w/ostree-noverity.cfs" /mnt/ref "$w/objects" ",verity=require"; then
	cfs-mount -t composefs -o "basedir=$w/objects,verity=require" "$w/ostree-noverity.cfs" /mnt/cfs
	r=$(read_result /mnt/ref/block-4097) c=$(read_result /mnt/cfs/block-4097)
	echo "# ostree-noverity.cfs with verity=require: reference: $r; composefs: $c"
	check "ostree-noverity.cfs, verity=require: the reference refuses an external file" [ "${r%% *}" = error ]
	check "ostree-noverity.cfs, verity=require: composefs refuses it as the reference does" [ "$c" = "$r" ]
	cfs-mount -u /mnt/cfs
	ref_umount /mnt/ref
else
	ktap_result fail "ostree-noverity.cfs: the reference stack mounts it with verity=require"
fi
rm -rf "$w"
ktap_finish
