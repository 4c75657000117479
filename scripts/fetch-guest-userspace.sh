#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The guest's mounting userspace: Debian 13's util-linux (mount, umount,
# findmnt; libmount 2.41) and coreutils' timeout (kselftest's runner uses
# `timeout --foreground`, which busybox lacks), ls and stat (`ls -Z`,
# `stat -c %C`: SELinux labels through libselinux, for test_selinux.sh),
# with the shared libraries they need and Debian 13's dynamic loader. The
# packages are unpacked into the cache; only the programs and the
# libraries they load (followed through DT_NEEDED) are staged in a tree laid
# out like Debian's, which selftests/vm-run copies into the guest's root
# filesystem. Prints the staged tree's path.
. "$(dirname "$0")/common.sh"

# The key: the package list and this script (see stage_cached).
key=$({ echo "$GUEST_USERSPACE_PKGS"; cat "$0"; } | sha256sum | cut -c1-16)
stage_cached "$GUEST_USERSPACE_DIR" "$key"

apt_alt_update
work=$(mktemp -d "$CACHE_DIR/guest-userspace.XXXXXX")
trap 'rm -rf "$work"' EXIT
log "downloading the guest's util-linux and its libraries"
# shellcheck disable=SC2086
debs_unpack "$work" $GUEST_USERSPACE_PKGS
lib=usr/lib/x86_64-linux-gnu
# Debian's libraries all live in $lib (usrmerge), which the loader searches
# by default, so the guest needs no ld.so.cache.
stage_programs "$work/root" "$work/stage" usr/bin/mount usr/bin/umount usr/bin/findmnt usr/bin/timeout \
	usr/bin/ls usr/bin/stat
"$work/stage/usr/lib64/ld-linux-x86-64.so.2" --library-path "$work/stage/$lib" \
	"$work/stage/usr/bin/mount" --version | grep -q 'util-linux 2\.41' ||
	{ log "the staged mount does not run"; exit 1; }
stage_install "$work/stage" "$GUEST_USERSPACE_DIR" "$key"
