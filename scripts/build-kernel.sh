#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build the test kernel (FLAVOUR=debug, the default), the benchmark kernel
# (FLAVOUR=bench) or the profiling kernel (FLAVOUR=prof) from tinyconfig +
# selftests/config (+ config.debug or config.prof) and print its build
# directory. Builds are cached, keyed by the kernel source
# version, the config fragments, this script and the toolchain versions.
. "$(dirname "$0")/common.sh"

flavour=${1:-debug}
case $flavour in
debug) fragments="$PROJECT_ROOT/selftests/config $PROJECT_ROOT/selftests/config.debug" ;;
bench) fragments="$PROJECT_ROOT/selftests/config" ;;
prof) fragments="$PROJECT_ROOT/selftests/config $PROJECT_ROOT/selftests/config.prof" ;;
*) log "unknown kernel flavour '$flavour' (debug, bench or prof)"; exit 2 ;;
esac

"$PROJECT_ROOT/scripts/setup-host.sh"
src=$("$PROJECT_ROOT/scripts/fetch-kernel.sh")
. "$PROJECT_ROOT/scripts/toolchain-env.sh"

key=$({
	basename "$src"
	cat $fragments "$0"
	rustc --version
	bindgen --version
	gcc --version | head -n1
} | sha256sum | cut -c1-16)
out=$CACHE_DIR/kbuild/$flavour-$key
if [ -e "$out/.built" ]; then
	echo "$out"
	exit 0
fi

log "building the $flavour kernel in $out (a few minutes)"
rm -rf "$out"
mkdir -p "$out"
jobs=$(($(nproc) + 1))
{
	make -C "$src" O="$out" tinyconfig
	"$src"/scripts/kconfig/merge_config.sh -m -O "$out" "$out/.config" $fragments
	make -C "$src" O="$out" olddefconfig
} >"$out/config.log" 2>&1 || { tail -n 30 "$out/config.log" >&2; exit 1; }

# Every requested option must have survived olddefconfig: a dependency
# that silently drops one would give a kernel that cannot run the tests.
bad=0
for f in $fragments; do
	while IFS= read -r line; do
		case $line in CONFIG_*=n) want="# ${line%=n} is not set" ;; CONFIG_*) want=$line ;; *) continue ;; esac
		if ! grep -qxF "$want" "$out/.config"; then
			[ "${line#*=}" = n ] && ! grep -q "^${line%=n}=" "$out/.config" && continue
			log "kernel config lacks $line"
			bad=1
		fi
	done <"$f"
done
[ $bad = 0 ] || exit 1

if ! make -C "$src" O="$out" -j"$jobs" bzImage modules >"$out/build.log" 2>&1; then
	grep -E 'error|Error' "$out/build.log" | head -n 30 >&2
	exit 1
fi
touch "$out/.built"
echo "$out"
