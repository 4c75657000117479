#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Test images written by composefs-rs: builds tools/cfsrs-mkimage (the
# `composefs` crate from the crate registry, version pinned in its
# Cargo.toml and Cargo.lock; it needs OpenSSL's headers, libssl-dev) and
# writes DIR/NAME-rs-vN.cfs for every DIR/NAME.dump in format versions 0, 1
# and 2. A dump composefs-rs refuses is reported and left out; the guest
# test (test_cfsrs.sh) says which images it found.
. "$(dirname "$0")/common.sh"

out=${1:?usage: gen-cfsrs-images.sh DIR}
# Kept with the other caches, so that a fresh clone does not rebuild it.
target=${CFSRS_TARGET_DIR:-$CACHE_DIR/cfsrs-target}
cargo build --quiet --release --locked \
	--manifest-path "$PROJECT_ROOT/tools/cfsrs-mkimage/Cargo.toml" --target-dir "$target"
for dump in "$out"/*.dump; do
	for v in 0 1 2; do
		if ! "$target/release/cfsrs-mkimage" "$dump" "${dump%.dump}-rs-v$v.cfs" $v; then
			echo "gen-cfsrs-images: composefs-rs refused $(basename "$dump") (version $v)" >&2
			rm -f "${dump%.dump}-rs-v$v.cfs"
		fi
	done
done
