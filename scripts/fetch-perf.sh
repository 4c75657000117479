#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# perf for the guest (make profile): Debian 13's linux-perf of the kernel
# release the project builds, with the shared libraries it loads and Debian
# 13's dynamic loader, staged in a tree of its own (usr/bin/perf,
# usr/lib/x86_64-linux-gnu, usr/lib64) that the guest runs through that
# loader, apart from its other programs. Prints the staged tree's path.
#
# Sampling on the cpu-clock software event needs no PMU, so it works under
# TCG, and unlike the ftrace function profiler it sees the module's Rust
# code.
. "$(dirname "$0")/common.sh"

# The key: the kernel's package version and this script (see stage_cached).
key=$({ echo "$DEBIAN_KVERSION"; cat "$0"; } | sha256sum | cut -c1-16)
stage_cached "$CACHE_DIR/perf" "$key"

apt_alt_update
work=$(mktemp -d "$CACHE_DIR/perf.XXXXXX")
trap 'rm -rf "$work"' EXIT
log "downloading Debian's perf and its libraries"
# The package and everything it depends on, as apt resolves them on an
# empty system preferring Debian 13 (names with their versions, so that
# the download takes exactly those).
: >"$work/status"
pkgs=$(apt_alt -o Dir::State::status="$work/status" -o APT::Install-Recommends=false \
	-o APT::Default-Release="$DEBIAN_TOOLCHAIN_SUITE" --print-uris -y \
	install "linux-perf=$DEBIAN_KVERSION" 2>/dev/null |
	sed -n "s/^'[^']*' \([^_]*\)_\([^_]*\)_[^ ]*\.deb .*/\1=\2/p" | sed 's/%3a/:/g')
[ -n "$pkgs" ] || { log "apt found no linux-perf=$DEBIAN_KVERSION"; exit 1; }
# shellcheck disable=SC2086
debs_unpack "$work" $pkgs
stage_programs "$work/root" "$work/stage" usr/bin/perf
"$work/stage/usr/lib64/ld-linux-x86-64.so.2" --library-path "$work/stage/usr/lib/x86_64-linux-gnu" \
	"$work/stage/usr/bin/perf" --version | grep -q '^perf version' ||
	{ log "the staged perf does not run"; exit 1; }
stage_install "$work/stage" "$CACHE_DIR/perf" "$key"
