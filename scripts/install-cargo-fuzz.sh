#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install cargo-fuzz into the project cache (not globally) and print the
# directory holding the cargo-fuzz binary. libFuzzer needs nightly rustc
# flags; the fuzz scripts run it with RUSTC_BOOTSTRAP=1 on the stable
# toolchain, as the kernel build does.
. "$(dirname "$0")/common.sh"

CARGO_FUZZ_VERSION=0.12.0
dir=$CACHE_DIR/cargo-fuzz-$CARGO_FUZZ_VERSION
if [ ! -x "$dir/bin/cargo-fuzz" ]; then
	log "installing cargo-fuzz $CARGO_FUZZ_VERSION into $dir"
	nice -n 19 cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked \
		--root "$dir" -j1 >&2
fi
echo "$dir/bin"
