#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Debian 13's stock backported kernel and the toolchain Debian built it with,
# unpacked into the cache without installing anything.
#
#   scripts/fetch-debian.sh kernel     prints the unpacked kernel packages' root
#                                      (usr/lib/modules/$DEBIAN_KREL/{vmlinuz,kernel/},
#                                      usr/src/linux-headers-$DEBIAN_KREL/{.config,Module.symvers})
#   scripts/fetch-debian.sh toolchain  prints a directory of wrappers (gcc-14,
#                                      binutils, pahole, rustc, clippy-driver, bindgen)
#
# The toolchain's programs need Debian 13's C library, newer than this
# machine's: each runs under Debian 13's own dynamic loader with
# --library-path pointing into the unpacked root (no chroot). Programs that
# gcc runs itself (cc1, lto1, ...) are wrapped in place the same way; `as`
# and `ld` are found through PATH, so the wrapper directory must come first
# in PATH when the compiler runs.
. "$(dirname "$0")/common.sh"

what=${1:-}
case $what in kernel | toolchain) ;; *) log "usage: $0 kernel|toolchain"; exit 2 ;; esac

# Unpack every .deb in $1 into $2; clang's static libraries and the
# documentation are not needed and make up most of the toolchain's size.
unpack() {
	local deb
	mkdir -p "$2"
	for deb in "$1"/*.deb; do
		dpkg-deb --fsys-tarfile "$deb" |
			tar -C "$2" -x --exclude='./usr/lib/llvm-*/lib/*.a' --exclude='./usr/share/doc/*' \
				--exclude='./usr/share/man/*' --exclude='./usr/share/locale/*'
	done
}

if [ "$what" = kernel ]; then
	dest=$DEBIAN_DIR/kernel-$DEBIAN_KVERSION
	if [ -e "$dest/.ok" ]; then
		echo "$dest"
		exit 0
	fi
	apt_alt_update
	work=$(mktemp -d "$CACHE_DIR/debian-kernel.XXXXXX")
	trap 'rm -rf "$work"' EXIT
	log "downloading Debian's $DEBIAN_KREL kernel packages ($DEBIAN_KVERSION)"
	pkgs=()
	for p in $DEBIAN_KERNEL_PKGS; do pkgs+=("$p=$DEBIAN_KVERSION"); done
	(cd "$work" && apt_alt download "${pkgs[@]}" >/dev/null)
	unpack "$work" "$work/root"
	h=$work/root/usr/src/linux-headers-$DEBIAN_KREL
	for f in "$work/root/usr/lib/modules/$DEBIAN_KREL/vmlinuz" "$h/.config" "$h/Module.symvers"; do
		[ -e "$f" ] || { log "${f#"$work/root/"} is in none of the packages"; exit 1; }
	done
	# modules.dep, which the package leaves to its postinst, so that
	# selftests/vm-run can follow the dependencies of the modules it loads.
	depmod -b "$work/root/usr" "$DEBIAN_KREL"
	rm -rf "$dest"
	mkdir -p "$DEBIAN_DIR"
	mv "$work/root" "$dest"
	touch "$dest/.ok"
	echo "$dest"
	exit 0
fi

# The toolchain: the packages and their dependencies as apt resolves them
# in Debian 13 from an empty package status (nothing counts as installed).
key=$({ echo "$DEBIAN_TOOLCHAIN_SUITE $DEBIAN_TOOLCHAIN_PKGS"; cat "$0"; } | sha256sum | cut -c1-16)
dest=$DEBIAN_DIR/toolchain-$key
if [ -e "$dest/.ok" ]; then
	echo "$dest/bin"
	exit 0
fi
apt_alt_update
work=$(mktemp -d "$CACHE_DIR/debian-toolchain.XXXXXX")
trap 'rm -rf "$work"' EXIT
log "downloading Debian's kernel toolchain from $DEBIAN_TOOLCHAIN_SUITE"
mkdir -p "$work/debs/partial" "$work/state"
: >"$work/state/status"
# shellcheck disable=SC2086
apt_alt -y --download-only \
	-o Dir::State::status="$work/state/status" \
	-o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= \
	-o Dir::Cache::Archives="$work/debs" \
	-o APT::Default-Release="$DEBIAN_TOOLCHAIN_SUITE" \
	-o APT::Install-Recommends=0 -o Debug::NoLocking=1 \
	install $DEBIAN_TOOLCHAIN_PKGS >"$work/apt.log" 2>&1 ||
	{ tail -n 20 "$work/apt.log" >&2; exit 1; }
log "unpacking $(ls "$work"/debs/*.deb | wc -l) packages"
root=$work/root
unpack "$work/debs" "$root"

lib=$root/usr/lib/x86_64-linux-gnu
ldso=$lib/ld-linux-x86-64.so.2
[ -x "$ldso" ] || { log "no Debian 13 loader in the packages"; exit 1; }
# The final paths, which the wrappers name.
froot=$dest/root
flib=$froot/usr/lib/x86_64-linux-gnu
fldso=$flib/ld-linux-x86-64.so.2

# wrap TARGET REAL: a script at TARGET that runs REAL (a path under the final
# root) under Debian 13's loader. --argv0 keeps the program's own name as
# argv[0]: gcc finds cc1 and its headers relative to it and prints it in
# --version, which the kernel's config records (CONFIG_CC_VERSION_TEXT).
wrap() {
	cat >"$1" <<WRAP
#!/bin/sh
exec "$fldso" --library-path "$flib" --argv0 "$3" "$2" "\$@"
WRAP
	chmod +x "$1"
}

# Only the target tools get wrappers, under the names the kernel's build
# gives them (CROSS_COMPILE=x86_64-linux-gnu-, as Debian builds it): the
# host's own gcc, as and ld stay first for the build's host programs.
mkdir -p "$work/bin"
for p in "$root"/usr/bin/x86_64-linux-gnu-* "$root"/usr/bin/{rustc,rustdoc,clippy-driver,bindgen,pahole}; do
	real=$(readlink -f "$p")
	# Only ELF programs: scripts run as they are.
	[ -f "$real" ] && [ "$(head -c 4 "$real" | od -An -c | tr -d ' ')" = '177ELF' ] || continue
	name=$(basename "$p")
	wrap "$work/bin/$name" "$froot/usr/bin/${real#"$root/usr/bin/"}" "$froot/usr/bin/$name"
done
# gcc runs its own passes by path: wrap them in place, and give it its
# assembler and linker where it looks first (its libexec directory).
gccx=$(ls -d "$root"/usr/libexec/gcc/x86_64-linux-gnu/[0-9]*)
for p in "$gccx"/*; do
	[ -f "$p" ] && [ -x "$p" ] && [ "${p%.so}" = "$p" ] || continue
	mv "$p" "$p.real"
	rel=${p#"$root/"}
	wrap "$p" "$froot/$rel.real" "$froot/$rel"
done
for t in as ld; do
	wrap "$gccx/$t" "$froot/usr/bin/x86_64-linux-gnu-$t" "$froot/usr/bin/x86_64-linux-gnu-$t"
done
# bindgen finds libclang through LIBCLANG_PATH (set by the build script).
[ -e "$root/usr/lib/llvm-19/lib/libclang.so" ] || { log "no libclang in the packages"; exit 1; }
(cd "$work/debs" && ls) >"$work/packages"

rm -rf "$dest"
mkdir -p "$dest"
mv "$root" "$froot"
mv "$work/bin" "$dest/bin"
mv "$work/packages" "$dest/packages"
for t in x86_64-linux-gnu-gcc-14 x86_64-linux-gnu-ld x86_64-linux-gnu-as rustc clippy-driver bindgen pahole; do
	"$dest/bin/$t" --version >/dev/null 2>&1 || { log "the wrapped $t does not run"; exit 1; }
done
touch "$dest/.ok"
echo "$dest/bin"
