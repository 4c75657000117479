#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Compile the binary SELinux policies test_selinux.sh loads in the guest:
# selftests/selinux/base.cil (a minimal policy with the labeling rules
# distribution policies have for ext4, EROFS and overlayfs) alone, as
# OUTDIR/without-module, and together with contrib/selinux/composefs.cil,
# as OUTDIR/with-module, and copies base.cil there (the test reads the
# policy's initial contexts from it). The compiler is Debian 13's secilc,
# unpacked into the cache with the libraries it needs and run through
# Debian 13's loader (as scripts/fetch-oracle.sh does for the reference
# tools).
#
#   scripts/build-selinux-policy.sh OUTDIR
. "$(dirname "$0")/common.sh"

out=${1:?usage: build-selinux-policy.sh OUTDIR}
dir=$CACHE_DIR/secilc
root=$dir/root
if [ ! -x "$root/usr/bin/secilc" ]; then
	apt_alt_update
	work=$(mktemp -d "$CACHE_DIR/secilc.XXXXXX")
	trap 'rm -rf "$work"' EXIT
	log "downloading secilc"
	# shellcheck disable=SC2086
	debs_unpack "$work" $SECILC_PKGS
	rm -rf "$root"
	mkdir -p "$dir"
	mv "$work/root" "$root"
fi
lib=$root/usr/lib/x86_64-linux-gnu
secilc() { "$lib/ld-linux-x86-64.so.2" --library-path "$lib" "$root/usr/bin/secilc" "$@"; }

mkdir -p "$out"
base=$PROJECT_ROOT/selftests/selinux/base.cil
module=$PROJECT_ROOT/contrib/selinux/composefs.cil
secilc -o "$out/without-module" -f /dev/null "$base"
secilc -o "$out/with-module" -f /dev/null "$base" "$module"
cp "$base" "$out/base.cil"
# The two must differ, or the test would compare a policy with itself.
if cmp -s "$out/without-module" "$out/with-module"; then
	log "the policy with composefs.cil is the same as without it"
	exit 1
fi
