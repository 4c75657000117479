#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# In-tree build check: the module as fs/composefs/ of a Linux tree, wired
# into fs/Kconfig and fs/Makefile, configured as CONFIG_COMPOSEFS_FS=m on
# top of the debug test kernel's config, and built with W=1 and the kernel's
# clippy lints (CLIPPY=1). Any compiler or clippy warning fails the check.
#
# The tree is a hard-linked copy of the cached kernel source (only the two
# wired-in files and fs/composefs/ are real copies), and its build directory
# is cached like the test kernel's, so later runs only rebuild the module.
. "$(dirname "$0")/common.sh"

src=$("$PROJECT_ROOT/scripts/fetch-kernel.sh")
kdir=$("$PROJECT_ROOT/scripts/build-kernel.sh" debug)
. "$PROJECT_ROOT/scripts/toolchain-env.sh"

tree=$CACHE_DIR/intree/$(basename "$src")
if [ ! -e "$tree/.wired" ]; then
	log "preparing an in-tree copy of the kernel source in $tree"
	rm -rf "$tree"
	mkdir -p "$(dirname "$tree")"
	cp -al "$src" "$tree"
	for f in fs/Kconfig fs/Makefile; do
		cp --remove-destination "$src/$f" "$tree/$f"
	done
	sed -i '/^source "fs\/overlayfs\/Kconfig"/a source "fs/composefs/Kconfig"' "$tree/fs/Kconfig"
	printf 'obj-$(CONFIG_COMPOSEFS_FS)\t+= composefs/\n' >>"$tree/fs/Makefile"
	touch "$tree/.wired"
fi
mkdir -p "$tree/fs/composefs"
rsync -a --delete --exclude='bindings_generated.rs' \
	"$PROJECT_ROOT/Makefile" "$PROJECT_ROOT/Kconfig" "$PROJECT_ROOT/src" "$tree/fs/composefs/"

out=$CACHE_DIR/kbuild/intree-$(basename "$kdir")
jobs=$(($(nproc) + 1))
if [ ! -e "$out/.built" ]; then
	log "building the in-tree kernel in $out (a few minutes)"
	rm -rf "$out"
	mkdir -p "$out"
	cp "$kdir/.config" "$out/.config"
	echo CONFIG_COMPOSEFS_FS=m >>"$out/.config"
	make -C "$tree" O="$out" olddefconfig >"$out/config.log" 2>&1
	grep -qx CONFIG_COMPOSEFS_FS=m "$out/.config" ||
		{ log "CONFIG_COMPOSEFS_FS=m did not survive olddefconfig"; exit 1; }
	if ! make -C "$tree" O="$out" -j"$jobs" vmlinux modules >"$out/build.log" 2>&1; then
		grep -E 'error|Error' "$out/build.log" | head -n 30 >&2
		exit 1
	fi
	touch "$out/.built"
fi

# Rebuild the module from scratch so that every warning shows up.
rm -rf "$out/fs/composefs"
log "building fs/composefs/ in-tree with W=1 CLIPPY=1"
make -C "$tree" O="$out" -j"$jobs" W=1 CLIPPY=1 fs/composefs/ 2>&1 | tee "$out/composefs.log"
[ "${PIPESTATUS[0]}" = 0 ] || { log "in-tree build failed"; exit 1; }
[ -e "$out/fs/composefs/composefs.o" ] || { log "in-tree build produced no composefs.o"; exit 1; }
if grep -E -i '(^|[^a-z])(warning|error)(\[|:)' "$out/composefs.log"; then
	log "in-tree build has warnings"
	exit 1
fi
log "in-tree build clean"
