#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Test data for the images of the other writers in the field, written by
# the real tools into DIR (the guest sees it as /attach/testdata/writers):
#   contents.txt   every regular file of the test tree (gen-writer-data.py
#                  tree) with its md5, taken from the tree itself
#   cfsrs-objects.txt  how many distinct contents of over 64 bytes it has
#   ostree/        an ostree repository's objects/ (XX/<sha256>.file names)
#                  after `ostree commit --generate-composefs-metadata` of the
#                  tree, the images of `ostree checkout --composefs` and
#                  `--composefs-noverity` of that commit, and the commit's
#                  image digest (ostree.composefs.digest.v0) in digest.txt
#   cfsrs-sha256/, cfsrs-sha512/
#                  composefs-rs repositories (tools/cfsrs-mkimage repo)
#                  holding the tree as images/refs/vN in format versions
#                  0, 1 and 2, objects named by fs-verity digest
#   layers/        three container layers as composefs dumps, an image of
#                  each from the reference mkcomposefs (--from-file, as
#                  containers-storage runs it), their objects by content
#                  sha256, and the merged view they must give (merged.txt)
# Run as root (the tree has files of other owners; ostree's bare mode).
. "$(dirname "$0")/common.sh"

out=${1:?usage: gen-writer-repos.sh DIR}/writers
rm -rf "$out"
mkdir -p "$out"
# Next to the output rather than in /tmp, which may be a tmpfs without
# user xattrs or ACLs.
tmp=$(mktemp -d "$out.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

tree=$tmp/tree
"$PROJECT_ROOT/scripts/gen-writer-data.py" tree "$tree"
(cd "$tree" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 md5sum) >"$out/contents.txt"
# composefs-rs stores files of up to 64 bytes in the image, the others as
# one object per content: how many objects the tree makes.
(cd "$tree" && find . -type f -size +64c -print0 | xargs -0 md5sum | cut -d' ' -f1 | sort -u | wc -l) \
	>"$out/cfsrs-objects.txt"

# ostree: a bare repository, as ostree-booted systems have.
ostree=$("$PROJECT_ROOT/scripts/fetch-ostree.sh")/ostree
repo=$tmp/ostree-repo
"$ostree" init --repo="$repo" --mode=bare
commit=$("$ostree" commit --repo="$repo" --branch=test --generate-composefs-metadata \
	--subject=writers "$tree")
mkdir -p "$out/ostree"
"$ostree" checkout --repo="$repo" --composefs "$commit" "$out/ostree/ostree.cfs"
"$ostree" checkout --repo="$repo" --composefs-noverity "$commit" "$out/ostree/ostree-noverity.cfs"
# "[byte 0xac, 0x66, ...]" -> hex
"$ostree" show --repo="$repo" --print-metadata-key=ostree.composefs.digest.v0 "$commit" |
	tr -d '[],' | sed 's/byte//; s/0x//g; s/ //g' >"$out/ostree/digest.txt"
grep -qx '[0-9a-f]\{64\}' "$out/ostree/digest.txt" ||
	{ log "no composefs digest in the ostree commit: $(cat "$out/ostree/digest.txt")"; exit 1; }
cp -a "$repo/objects" "$out/ostree/"

# composefs-rs repositories.
target=${CFSRS_TARGET_DIR:-$CACHE_DIR/cfsrs-target}
cargo build --quiet --release --locked \
	--manifest-path "$PROJECT_ROOT/tools/cfsrs-mkimage/Cargo.toml" --target-dir "$target"
for alg in sha256 sha512; do
	for v in 0 1 2; do
		"$target/release/cfsrs-mkimage" repo $alg "$tree" "$out/cfsrs-$alg" $v v$v >/dev/null
	done
done

# Container layers.
"$PROJECT_ROOT/scripts/gen-writer-data.py" layers "$out/layers"
mkcfs=${CFS_ORACLE_DIR:-$("$PROJECT_ROOT/scripts/fetch-oracle.sh")}/mkcomposefs
for dump in "$out"/layers/layer*.dump; do
	"$mkcfs" --from-file "$dump" "${dump%.dump}.cfs"
done
