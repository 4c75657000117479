#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build composefs.ko for a distribution's stock kernel:
#
#   scripts/build-distro.sh debian
#
# for Debian 13's backported $DEBIAN_KREL. Its headers package lacks the
# metadata of the kernel's Rust crates (rust/*.rmeta, libmacros.so) that a
# Rust module is compiled against, so they are rebuilt here: Debian's
# .config in a build directory over the same source ($KERNEL_SOURCE_PKG),
# `make modules_prepare` (which builds rust/) with the compilers Debian
# built the kernel with (scripts/fetch-debian.sh toolchain). A Rust symbol's
# crate part is a hash of the crate name and the compiler build, so the
# rebuilt crates must export exactly the names in Debian's Module.symvers:
# that is checked, and so is every undefined symbol of the module.
# The module is built with the kernel's clippy lints (CLIPPY=1) and
# warnings as errors, and copied to build/debian/composefs.ko. Module BTF
# is generated against the BTF-only vmlinux of Debian's headers package
# with Debian's pahole, as Debian's own headers would.
. "$(dirname "$0")/common.sh"

distro=${1:-}
case $distro in
debian) ;;
*) log "usage: $0 debian"; exit 2 ;;
esac

"$PROJECT_ROOT/scripts/setup-host.sh"
src=$("$PROJECT_ROOT/scripts/fetch-kernel.sh")
kroot=$("$PROJECT_ROOT/scripts/fetch-debian.sh" kernel)
tc=$("$PROJECT_ROOT/scripts/fetch-debian.sh" toolchain)
hdr=$kroot/usr/src/linux-headers-$DEBIAN_KREL

srcver=${src##*/"$KERNEL_SOURCE_PKG".}
if [ "$srcver" != "$DEBIAN_KVERSION" ]; then
	log "the kernel source is $KERNEL_SOURCE_PKG $srcver, Debian's kernel is $DEBIAN_KVERSION"
	exit 1
fi

# Debian's compilers first in PATH (target tools only: the host's gcc builds
# the build's own host programs), libclang for bindgen.
export PATH="$tc:$PATH"
LIBCLANG_PATH=$(cd "$tc/../root/usr/lib/llvm-19/lib" && pwd)
export LIBCLANG_PATH
# The make variables of Debian's build (its headers' .kernelvariables):
# CROSS_COMPILE=x86_64-linux-gnu-, CC=$(CROSS_COMPILE)gcc-14, the release.
kvars=(ARCH=x86 CROSS_COMPILE=x86_64-linux-gnu- CC=x86_64-linux-gnu-gcc-14 HOSTCC=gcc
	RUSTC=rustc HOSTRUSTC=rustc CLIPPY_DRIVER=clippy-driver BINDGEN=bindgen PAHOLE=pahole
	KERNELRELEASE="$DEBIAN_KREL")

# Debian's configuration over the same source, built up to what modules
# need (modules_prepare builds rust/), into $out.
prepare_kernel() {
	log "rebuilding $DEBIAN_KREL's Rust crates in $out (a few minutes)"
	rm -rf "$out"
	mkdir -p "$out"
	cp "$hdr/.config" "$out/.config"
	make -C "$src" O="$out" "${kvars[@]}" olddefconfig >"$out/config.log" 2>&1 ||
		{ tail -n 30 "$out/config.log" >&2; exit 1; }
	# Same compilers, same source: the configuration must come out as
	# Debian's (the tool versions are part of it). Not compared: unset
	# options (an in-tree composefs wired in by scripts/build-intree.sh is
	# one more) and OPENSSL_SUPPORTS_ML_DSA, which says whether the host's
	# openssl command (3.5 on Debian 13) offers ML-DSA keys for signing
	# modules; nothing is signed here.
	setopts() { grep -v -e '^#' -e '^$' -e '^CONFIG_OPENSSL_SUPPORTS_ML_DSA=' "$1"; }
	if ! diff <(setopts "$hdr/.config") <(setopts "$out/.config") >"$out/config.diff"; then
		log "olddefconfig changed Debian's configuration:"
		head -n 20 "$out/config.diff" >&2
		exit 1
	fi
	if ! nice -n 10 make -C "$src" O="$out" "${kvars[@]}" -j2 modules_prepare \
		>"$out/build.log" 2>&1; then
		grep -E 'error|Error' "$out/build.log" | head -n 30 >&2
		exit 1
	fi
	# What a module is checked against and linked for: Debian's exports
	# (modpost reads them) and the BTF-only vmlinux of its headers package.
	cp "$hdr/Module.symvers" "$hdr/vmlinux" "$out/"
	touch "$out/.built"
}

# The cache key: what the build depends on, this recipe included.
key=$({
	echo "$srcver $tc ${kvars[*]}"
	declare -f prepare_kernel
	cat "$hdr/.config"
} | sha256sum | cut -c1-16)
out=$CACHE_DIR/kbuild/debian-$key
if [ ! -e "$out/.built" ]; then
	prepare_kernel
fi

# The rebuilt crates' exports (generated from their objects) against
# Debian's: the same names, or modules compiled against the rebuilt
# metadata reference symbols the running kernel does not have.
exp=$(cat "$out"/rust/exports_*_generated.h | sed -n 's/.*EXPORT_SYMBOL_RUST_GPL(\(.*\));/\1/p' | sort -u)
missing=$(comm -23 <(echo "$exp") <(awk '{print $2}' "$hdr/Module.symvers" | sort -u))
extra=$(comm -13 <(echo "$exp") <(awk '$2 ~ /^(_R|rust_helper_)/ {print $2}' "$hdr/Module.symvers" | sort -u))
nexp=$(echo "$exp" | grep -c . || true)
if [ -n "$missing" ] || [ -n "$extra" ]; then
	log "the rebuilt Rust crates' exports differ from Debian's Module.symvers:"
	log "$(echo "$missing" | grep -c . || true) rebuilt symbols Debian does not export, e.g.:"
	echo "$missing" | head -n 5 >&2
	log "$(echo "$extra" | grep -c . || true) Debian exports not rebuilt, e.g.:"
	echo "$extra" | head -n 5 >&2
	exit 1
fi
log "the rebuilt Rust crates and helpers export the same $nexp symbols as Debian's Module.symvers"

mdir=$PROJECT_ROOT/build/debian-module
mkdir -p "$mdir"
rsync -a --delete --exclude='*.o' --exclude='.*.cmd' --exclude='*.ko' \
	--exclude='bindings_generated.rs' --exclude='*.mod*' --exclude='*.d' \
	--exclude='modules.order' --exclude='Module.symvers' \
	"$PROJECT_ROOT/Makefile" "$PROJECT_ROOT/Kconfig" "$PROJECT_ROOT/src" "$mdir/"
nice -n 10 make -s -C "$out" M="$mdir" "${kvars[@]}" CLIPPY="${CLIPPY:-1}" \
	KCFLAGS=-Werror KRUSTFLAGS="-Dwarnings" -j2 modules

# Every symbol the module needs must be exported by Debian's kernel
# (modpost checks this too; this prints the count).
undef=$(x86_64-linux-gnu-nm -u "$mdir/composefs.ko" | awk '{print $2}' | sort -u)
missing=$(comm -23 <(echo "$undef") <(awk '{print $2}' "$hdr/Module.symvers" | sort -u))
n=$(echo "$undef" | grep -c . || true)
nrust=$(echo "$undef" | grep -c '^_R' || true)
if [ -n "$missing" ]; then
	log "composefs.ko needs symbols Debian's $DEBIAN_KREL does not export:"
	echo "$missing" >&2
	exit 1
fi
log "composefs.ko: all $n undefined symbols ($nrust of them Rust) are exported by Debian's Module.symvers"
vermagic=$(modinfo -F vermagic "$mdir/composefs.ko")
log "vermagic: $vermagic"
mkdir -p "$PROJECT_ROOT/build/debian"
cp "$mdir/composefs.ko" "$PROJECT_ROOT/build/debian/composefs.ko"
echo "$PROJECT_ROOT/build/debian/composefs.ko"
