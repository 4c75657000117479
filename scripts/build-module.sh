#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build composefs.ko against the debug (default), bench or prof kernel. The module
# sources are copied into build/<flavour>-module/ and built there with M=, so
# the work tree stays clean and the flavours can be built side by side.
# Lints: the kernel's clippy set (CLIPPY=1); warnings fail the build.
. "$(dirname "$0")/common.sh"

flavour=${1:-debug}
kdir=$("$PROJECT_ROOT/scripts/build-kernel.sh" "$flavour")
. "$PROJECT_ROOT/scripts/toolchain-env.sh"

mdir=$PROJECT_ROOT/build/$flavour-module
mkdir -p "$mdir"
rsync -a --delete --exclude='*.o' --exclude='.*.cmd' --exclude='*.ko' \
	--exclude='bindings_generated.rs' --exclude='*.mod*' --exclude='*.d' \
	--exclude='modules.order' --exclude='Module.symvers' \
	"$PROJECT_ROOT/Makefile" "$PROJECT_ROOT/Kconfig" "$PROJECT_ROOT/src" "$mdir/"
make -s -C "$kdir" M="$mdir" CLIPPY="${CLIPPY:-1}" KCFLAGS=-Werror \
	KRUSTFLAGS="-Dwarnings" -j"$(nproc)" modules
case $flavour in
debug) dest=$PROJECT_ROOT/build/composefs.ko ;;
bench) mkdir -p "$PROJECT_ROOT/build/bench"; dest=$PROJECT_ROOT/build/bench/composefs.ko ;;
prof) mkdir -p "$PROJECT_ROOT/build/prof"; dest=$PROJECT_ROOT/build/prof/composefs.ko ;;
esac
cp "$mdir/composefs.ko" "$dest"
