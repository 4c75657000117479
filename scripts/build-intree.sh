#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# In-tree build check: the module as fs/composefs/ of the kernel source,
# wired into fs/Kconfig and fs/Makefile, configured as CONFIG_COMPOSEFS_FS=m
# on top of the debug test kernel's config, and built with W=1 and the
# kernel's clippy lints (CLIPPY=1). Any compiler or clippy warning fails.
# First, the selftests as tools/testing/selftests/filesystems/composefs/,
# built through kselftest's Makefile (warnings are errors) and installed
# into build/kselftest, which `make check` boots the guest with.
#
# The kernel is not built a second time: the debug kernel's build directory
# is copied once (same source tree, so its objects stay valid) and only
# fs/composefs/ is built in the copy, from scratch on every run.
. "$(dirname "$0")/common.sh"

src=$("$PROJECT_ROOT/scripts/fetch-kernel.sh")
kdir=$("$PROJECT_ROOT/scripts/build-kernel.sh" debug)
. "$PROJECT_ROOT/scripts/toolchain-env.sh"

# Wire fs/composefs/ into the source tree. The edits only add a directory
# whose option defaults to n, so the other kernel builds are unaffected.
if ! grep -q 'fs/composefs/Kconfig' "$src/fs/Kconfig"; then
	sed '/^source "fs\/overlayfs\/Kconfig"/a source "fs/composefs/Kconfig"' \
		"$src/fs/Kconfig" >"$src/fs/Kconfig.new"
	mv "$src/fs/Kconfig.new" "$src/fs/Kconfig"
fi
if ! grep -q 'composefs/' "$src/fs/Makefile"; then
	{ cat "$src/fs/Makefile"; printf 'obj-$(CONFIG_COMPOSEFS_FS)\t+= composefs/\n'; } >"$src/fs/Makefile.new"
	mv "$src/fs/Makefile.new" "$src/fs/Makefile"
fi
mkdir -p "$src/fs/composefs"
rsync -a --delete --exclude='bindings_generated.rs' \
	"$PROJECT_ROOT/Makefile" "$PROJECT_ROOT/Kconfig" "$PROJECT_ROOT/src" "$src/fs/composefs/"

out=$CACHE_DIR/kbuild/intree-$(basename "$kdir")
if [ ! -e "$out/.copied" ]; then
	log "copying the debug kernel build to $out"
	rm -rf "$out"
	cp -a "$kdir" "$out"
	echo CONFIG_COMPOSEFS_FS=m >>"$out/.config"
	make -C "$src" O="$out" olddefconfig >"$out/config.log" 2>&1
	grep -qx CONFIG_COMPOSEFS_FS=m "$out/.config" ||
		{ log "CONFIG_COMPOSEFS_FS=m did not survive olddefconfig"; exit 1; }
	touch "$out/.copied"
fi

ksft=$src/tools/testing/selftests
mkdir -p "$ksft/filesystems/composefs"
rsync -a --delete "$PROJECT_ROOT/selftests/" "$ksft/filesystems/composefs/"
rm -rf "$out/kselftest/filesystems/composefs" "$PROJECT_ROOT/build/kselftest"
log "building and installing the selftests through kselftest's Makefile"
make -C "$ksft" O="$out" TARGETS=filesystems/composefs USERCFLAGS=-Werror \
	KSFT_INSTALL_PATH="$PROJECT_ROOT/build/kselftest" install
grep -q '^filesystems/composefs:test_' "$PROJECT_ROOT/build/kselftest/kselftest-list.txt" ||
	{ log "kselftest's install lists no composefs tests"; exit 1; }

rm -rf "$out/fs/composefs"
log "building fs/composefs/ in-tree with W=1 CLIPPY=1"
make -C "$src" O="$out" -j"$(($(nproc) + 1))" W=1 CLIPPY=1 fs/composefs/ 2>&1 | tee "$out/composefs.log"
[ "${PIPESTATUS[0]}" = 0 ] || { log "in-tree build failed"; exit 1; }
[ -e "$out/fs/composefs/composefs.o" ] || { log "in-tree build produced no composefs.o"; exit 1; }
if grep -E -i '(^|[^a-z])(warning|error)(\[|:)' "$out/composefs.log"; then
	log "in-tree build has warnings"
	exit 1
fi
log "in-tree build clean"
