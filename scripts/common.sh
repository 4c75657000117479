# SPDX-License-Identifier: GPL-2.0
# Shared settings for the host-side scripts: where caches live and which
# versions of the kernel and toolchain pieces the project builds against.

set -euo pipefail

# Root of the project checkout.
PROJECT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Caches live outside the work tree so that a fresh clone reuses them.
CACHE_DIR=${COMPOSEFS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/composefs-kmod}

KERNEL_SERIES=7.3
KERNEL_SOURCE_PKG=linux-source-$KERNEL_SERIES
BINDGEN_VERSION=0.72.1
LIBCLANG_VERSION=18.1.1
# Reference oracle: Debian's composefs tools.
ORACLE_PKGS="composefs/sid libcomposefs1/sid libc6/trixie libssl3t64/trixie"
# The SELinux policy compiler (scripts/build-selinux-policy.sh) and what it
# loads, run through Debian 13's loader.
SECILC_PKGS="secilc/trixie libsepol2/trixie libc6/trixie"
# The guest's mounting userspace (scripts/fetch-guest-userspace.sh): Debian
# 13's util-linux 2.41 and coreutils, with the libraries they load.
GUEST_USERSPACE_PKGS="mount/trixie util-linux/trixie coreutils/trixie libmount1/trixie
	libblkid1/trixie libsmartcols1/trixie libselinux1/trixie libpcre2-8-0/trixie
	libudev1/trixie libcap2/trixie libc6/trixie"

# Debian 13's backported stock kernel (scripts/fetch-debian.sh,
# scripts/build-distro.sh): the release, its package version (the same
# source as $KERNEL_SOURCE_PKG), and the toolchain Debian built it with,
# taken from Debian 13 itself (apt resolves their dependencies there).
DEBIAN_KREL=7.3.4+deb13-amd64
DEBIAN_KVERSION=7.3.4-1~bpo13+1
DEBIAN_KERNEL_PKGS="linux-image-$DEBIAN_KREL linux-binary-$DEBIAN_KREL linux-modules-$DEBIAN_KREL linux-base-$DEBIAN_KREL
	linux-headers-$DEBIAN_KREL linux-headers-7.3.4+deb13-common linux-kbuild-7.3.4+deb13"
DEBIAN_TOOLCHAIN_SUITE=trixie
DEBIAN_TOOLCHAIN_PKGS="gcc-14 binutils pahole rustc rust-src rust-clippy bindgen libclang1-19"
DEBIAN_DIR=$CACHE_DIR/debian
# ostree for the test images of scripts/gen-writer-repos.sh
# (scripts/fetch-ostree.sh): Debian 13's 2025.2 is built without composefs
# (`checkout --composefs` says so), the suite after it (2026.4) with it.
OSTREE_SUITE=sid
OSTREE_DIR=$CACHE_DIR/ostree

BINDGEN_DIR=$CACHE_DIR/bindgen-$BINDGEN_VERSION
LIBCLANG_VENV=$CACHE_DIR/libclang-$LIBCLANG_VERSION
APT_ALT=$CACHE_DIR/apt-alt
ORACLE_DIR=$CACHE_DIR/oracle
GUEST_USERSPACE_DIR=$CACHE_DIR/guest-userspace

log() { printf '==> %s\n' "$*" >&2; }

# Run apt-get against the newer Debian suites without touching the
# machine's apt configuration: a private sources file built from the
# machine's own stanza, and a private lists directory.
apt_alt() {
	local src=/etc/apt/sources.list.d/debian.sources
	mkdir -p "$APT_ALT/lists/partial" "$APT_ALT/archives/partial"
	if [ ! -s "$APT_ALT/sources.list" ]; then
		# The first stanza is the main archive; keep its URIs and keyring.
		awk 'BEGIN{RS=""; ORS="\n\n"} NR==1' "$src" |
			sed -e 's/^Suites:.*/Suites: trixie trixie-backports sid/' \
				>"$APT_ALT/sources.sources"
		cp "$APT_ALT/sources.sources" "$APT_ALT/sources.list"
	fi
	apt-get -q \
		-o Dir::Etc::sourcelist="$APT_ALT/sources.sources" \
		-o Dir::Etc::sourceparts=/nonexistent \
		-o Dir::State::Lists="$APT_ALT/lists" \
		-o Dir::Cache::Archives="$APT_ALT/archives" \
		-o APT::Default-Release= -o APT::Sandbox::User=root \
		"$@"
}

apt_alt_update() {
	local stamp=$APT_ALT/updated
	if [ ! -e "$stamp" ] || [ -n "$(find "$stamp" -mmin +1440)" ]; then
		log "refreshing the private package lists"
		apt_alt update >/dev/null
		touch "$stamp"
	fi
}

# debs_unpack DIR PKG...: downloads the packages (apt_alt, "name/suite"
# allowed) into DIR and unpacks every one into DIR/root.
debs_unpack() {
	local dir=$1 deb
	shift
	(cd "$dir" && apt_alt download "$@" >/dev/null)
	mkdir -p "$dir/root"
	for deb in "$dir"/*.deb; do
		dpkg-deb -x "$deb" "$dir/root"
	done
}

# stage_programs ROOT STAGE PROG...: copies each program (a path relative
# to ROOT, an unpacked Debian tree) into STAGE at the same path, with every
# shared library it loads (DT_NEEDED, followed transitively; Debian's all
# live in usr/lib/x86_64-linux-gnu) and Debian's dynamic loader, so that
# STAGE runs on a host or guest that has none of them.
stage_programs() {
	local root=$1 stage=$2 lib=usr/lib/x86_64-linux-gnu p f n real next todo="" seen=" "
	shift 2
	mkdir -p "$stage/$lib"
	for p in "$@"; do
		[ -e "$root/$p" ] || { log "$p is in none of the packages"; return 1; }
		mkdir -p "$stage/$(dirname "$p")"
		cp -a "$root/$p" "$stage/$p"
		todo="$todo $root/$p"
	done
	while [ -n "${todo// /}" ]; do
		next=""
		for f in $todo; do
			for n in $(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
				case $seen in *" $n "*) continue ;; esac
				seen="$seen$n "
				[ -e "$root/$lib/$n" ] || { log "$n (needed by ${f#"$root/"}) is in none of the packages"; return 1; }
				cp -a "$root/$lib/$n" "$stage/$lib/"
				# Libraries are often symlinks to the versioned file.
				real=$(readlink -f "$root/$lib/$n")
				[ "$real" = "$root/$lib/$n" ] || cp -a "$real" "$stage/$lib/"
				next="$next $real"
			done
		done
		todo=$next
	done
	cp -a "$root/$lib/ld-linux-x86-64.so.2" "$stage/$lib/"
	# Programs name /lib64/ld-linux-x86-64.so.2 as their interpreter.
	mkdir -p "$stage/usr/lib64"
	ln -sf "../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" "$stage/usr/lib64/ld-linux-x86-64.so.2"
}

# Staged trees live in DIR/stage-KEY, KEY a hash of what they are made of,
# complete once DIR/stage-KEY/.ok-KEY exists: a new key stages a new tree
# next to the others (a checkout of another version of the script may be
# copying from its own while this one stages).
#
# stage_cached DIR KEY: if that tree is complete, prints its path and ends
# the script.
stage_cached() {
	if [ -e "$1/stage-$2/.ok-$2" ]; then
		echo "$1/stage-$2"
		exit 0
	fi
}

# stage_install STAGED DIR KEY: moves the tree STAGED (stage_programs) to
# DIR/stage-KEY, marks it complete and prints its path.
stage_install() {
	local stage=$2/stage-$3
	rm -rf "$stage"
	mkdir -p "$2"
	mv "$1" "$stage"
	touch "$stage/.ok-$3"
	echo "$stage"
}
