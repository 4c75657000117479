#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install what building and testing needs on a Debian host: Debian
# packages, rust-src, bindgen-cli and libclang (into the cache).
. "$(dirname "$0")/common.sh"

HOST_PKGS="gcc make bc bison flex libelf-dev libssl-dev pkg-config cpio kmod qemu-system-x86
busybox-static e2fsprogs fsverity rsync python3-venv xz-utils gnuplot-nox"

missing=()
for p in $HOST_PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	log "installing host packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get -q update >/dev/null
	apt-get -q install -y --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
	log "adding rust-src"
	rustup component add rust-src >/dev/null
fi

mkdir -p "$CACHE_DIR"
if [ ! -x "$BINDGEN_DIR/bin/bindgen" ]; then
	log "installing bindgen-cli $BINDGEN_VERSION"
	cargo install -q bindgen-cli --version "$BINDGEN_VERSION" --locked --root "$BINDGEN_DIR"
fi

if [ ! -e "$LIBCLANG_VENV/ok" ]; then
	log "installing libclang $LIBCLANG_VERSION"
	python3 -m venv "$LIBCLANG_VENV"
	"$LIBCLANG_VENV/bin/pip" -q install "libclang==$LIBCLANG_VERSION"
	touch "$LIBCLANG_VENV/ok"
fi
