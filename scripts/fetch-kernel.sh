#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Unpack the Linux source from Debian's linux-source package into the cache
# and print its path. Nothing is installed into the system.
. "$(dirname "$0")/common.sh"

mkdir -p "$CACHE_DIR/src"
existing=$(ls -d "$CACHE_DIR"/src/linux-source-$KERNEL_SERIES.*/Makefile 2>/dev/null | head -n1 || true)
if [ -n "$existing" ]; then
	dirname "$existing"
	exit 0
fi

apt_alt_update
work=$(mktemp -d "$CACHE_DIR/src/fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
log "downloading $KERNEL_SOURCE_PKG"
(cd "$work" && apt_alt download "$KERNEL_SOURCE_PKG" >/dev/null)
deb=$(ls "$work"/*.deb)
ver=$(dpkg-deb -f "$deb" Version)
dpkg-deb -x "$deb" "$work/x"
log "unpacking $KERNEL_SOURCE_PKG $ver"
tar -C "$work" -xf "$work"/x/usr/src/linux-source-$KERNEL_SERIES.tar.xz
dest=$CACHE_DIR/src/linux-source-$KERNEL_SERIES.$ver
mv "$work/linux-source-$KERNEL_SERIES" "$dest"
echo "$dest"
