#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR MIT
# Builds the fuzz seed images into tools/fuzz/corpus/walk: each dump of
# make-dumps.py through the project's mkcomposefs and the reference one, in
# format versions 0 and 1. Run after `make tools`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
ref=$("$root/scripts/fetch-oracle.sh")
own=$root/build/bin/mkcomposefs
out=$here/../corpus/walk
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 "$here/make-dumps.py" "$tmp"
mkdir -p "$out"
for d in "$tmp"/*.dump; do
	n=$(basename "$d" .dump)
	"$own" --from-file "$d" "$out/seed-own-$n.cfs"
	"$ref/mkcomposefs" --from-file "$d" "$out/seed-ref-$n.cfs"
	"$ref/mkcomposefs" --min-version=1 --from-file "$d" "$out/seed-ref-v1-$n.cfs"
	cmp -s "$out/seed-own-$n.cfs" "$out/seed-ref-$n.cfs" && rm "$out/seed-own-$n.cfs"
done
ls -l "$out"
