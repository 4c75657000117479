#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Container layers as containers-storage (podman's use_composefs) makes
# them: one image per layer, written by the reference mkcomposefs from a
# composefs dump (--from-file), objects named by the content's sha256
# (scripts/gen-writer-repos.sh, gen-writer-data.py layers). Each layer is
# mounted with composefs (basedir= the objects, verity=require: the dumps
# carry fs-verity digests) and the three mounts are the lower layers of
# one overlayfs; the reference is the same with each layer mounted by the
# reference stack (EROFS + overlayfs). Whiteouts (character devices 0:0)
# and opaque directories (trusted.overlay.opaque) of the upper layers
# must act on the layers below in the outer overlay. The merged tree must
# equal the reference's and the view the layer definitions give
# (merged.txt, derived on the host from the definitions alone).
. ./lib.sh
load_module

d=/attach/testdata/writers/layers
w=/scratch/layers
rm -rf "$w"
mkdir -p "$w"
if [ ! -e "$d/layer3.cfs" ]; then
	ktap_result fail "the layers' images were written (scripts/gen-writer-repos.sh)"
	ktap_finish
fi
cp -a "$d/objects" "$w/"
objs=$(find "$w/objects" -type f)
n=$(echo "$objs" | wc -l)
# shellcheck disable=SC2086
check "fs-verity enabled on the layers' $n objects" cfs-verity enable-all sha256 $objs

# view DIR: every entry of DIR in merged.txt's form.
view() {
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort | while IFS= read -r p; do
		if [ -L "$p" ]; then
			echo "$p l $(readlink "$p")"
		elif [ -d "$p" ]; then
			echo "$p d"
		elif [ -f "$p" ]; then
			echo "$p f $(md5sum <"$p" | cut -d' ' -f1)"
		else
			echo "$p other"
		fi
	done)
}

lc="" lr=""
for i in 1 2 3; do
	cp "$d/layer$i.cfs" "$w/"
	mkdir -p "/mnt/lc$i" "/mnt/lr$i"
	check "layer $i: composefs mounts it (verity=require)" \
		cfs-mount -t composefs -o "basedir=$w/objects,verity=require" "$w/layer$i.cfs" "/mnt/lc$i"
	check "layer $i: the reference stack mounts it" \
		ref_mount "$w/layer$i.cfs" "/mnt/lr$i" "$w/objects" ",verity=require"
	cfs-walk "/mnt/lr$i" >"$w/ref.txt" 2>&1
	same_tree "layer $i: alone, tree and contents equal the reference's" "/mnt/lc$i"
	# Top layer first, as overlayfs's lowerdir lists them.
	lc="/mnt/lc$i${lc:+:$lc}" lr="/mnt/lr$i${lr:+:$lr}"
done
# The opaque directory of layer 2, as the outer overlay sees it.
check "layer 2's opaque directory shows trusted.overlay.opaque=y on composefs" \
	sh -c "cfs-walk /mnt/lc2 | grep '^/opt/old ' | grep -q 'trusted.overlay.opaque=79'"

mkdir -p /mnt/merged-cfs /mnt/merged-ref
check "an overlay of the three composefs mounts ($lc)" \
	cfs-mount -t overlay -o "lowerdir=$lc" overlay /mnt/merged-cfs
check "an overlay of the three reference mounts ($lr)" \
	cfs-mount -t overlay -o "lowerdir=$lr" overlay /mnt/merged-ref
cfs-walk /mnt/merged-ref >"$w/ref.txt" 2>&1
same_tree "merged layers: tree and contents equal the reference's" /mnt/merged-cfs
view /mnt/merged-cfs >"$w/view.txt"
same_output "merged layers: the view the layer definitions give (whiteouts, opaque directory, replaced file)" \
	"$d/merged.txt" "$w/view.txt"
view /mnt/merged-ref >"$w/view-ref.txt"
check "merged layers: the reference gives that view too (the expectation is not composefs's own)" \
	cmp "$d/merged.txt" "$w/view-ref.txt"

# A writable container on top: an upper and work directory on tmpfs.
mkdir -p /tmp/layers-rw && mount -t tmpfs tmpfs /tmp/layers-rw
mkdir -p /tmp/layers-rw/upper /tmp/layers-rw/work /mnt/rw
if cfs-mount -w -t overlay -o "lowerdir=$lc,upperdir=/tmp/layers-rw/upper,workdir=/tmp/layers-rw/work" \
	overlay /mnt/rw; then
	check "container: a lower file copied up and written" sh -c \
		'printf new >>/mnt/rw/usr/lib/liby.so && [ "$(tail -c 3 /mnt/rw/usr/lib/liby.so)" = new ] && [ "$(wc -c </mnt/rw/usr/lib/liby.so)" = 12003 ]'
	check "container: its first 12000 bytes are the layer's" sh -c \
		'head -c 12000 /mnt/rw/usr/lib/liby.so | cmp - /mnt/lr2/usr/lib/liby.so'
	check "container: the layer below is unchanged" sh -c \
		'[ "$(wc -c </mnt/lc2/usr/lib/liby.so)" = 12000 ] && cmp /mnt/lc2/usr/lib/liby.so /mnt/lr2/usr/lib/liby.so'
	check "container: a lower file deleted" sh -c 'rm /mnt/rw/srv/www/index && [ ! -e /mnt/rw/srv/www/index ]'
	cfs-mount -u /mnt/rw
else
	ktap_result fail "container: an overlay with an upper over the composefs layers"
fi
umount /tmp/layers-rw

cfs-mount -u /mnt/merged-cfs
cfs-mount -u /mnt/merged-ref
for i in 1 2 3; do
	cfs-mount -u "/mnt/lc$i"
	ref_umount "/mnt/lr$i"
done
rm -rf "$w"
ktap_finish
