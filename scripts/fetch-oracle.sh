#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Make Debian's reference composefs tools (upstream mkcomposefs and
# composefs-info 1.0.8) runnable from the cache, without installing them,
# and write wrapper scripts. Prints the directory holding the wrappers.
. "$(dirname "$0")/common.sh"

bin=$ORACLE_DIR/bin
if [ -x "$bin/mkcomposefs" ] && [ -x "$bin/composefs-info" ]; then
	echo "$bin"
	exit 0
fi

apt_alt_update
root=$ORACLE_DIR/root
work=$(mktemp -d "$CACHE_DIR/oracle.XXXXXX")
trap 'rm -rf "$work"' EXIT
log "downloading the reference composefs tools"
# shellcheck disable=SC2086
debs_unpack "$work" $ORACLE_PKGS
rm -rf "$root"
mkdir -p "$bin"
mv "$work/root" "$root"
lib=$root/usr/lib/x86_64-linux-gnu
ldso=$lib/ld-linux-x86-64.so.2
[ -e "$ldso" ] || ldso=$(ls "$root"/lib*/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$root"/usr/lib64/ld-linux-x86-64.so.2 2>/dev/null | head -n1)
for tool in mkcomposefs composefs-info; do
	cat >"$bin/$tool" <<WRAP
#!/bin/sh
exec "$ldso" --library-path "$lib" "$root/usr/bin/$tool" "\$@"
WRAP
	chmod +x "$bin/$tool"
done
# Capture first: --help exits non-zero, and grep -q may close the pipe
# early, either of which would fail a pipeline under pipefail.
usage=$("$bin/mkcomposefs" --help 2>&1 || true)
grep -q "^Usage: mkcomposefs" <<<"$usage" || { log "reference mkcomposefs does not run"; exit 1; }
echo "$bin"
