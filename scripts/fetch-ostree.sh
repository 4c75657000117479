#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# ostree for writing test images on the host (scripts/gen-writer-repos.sh):
# Debian's ostree from $OSTREE_SUITE (the first Debian ostree built with
# composefs support, so that `ostree checkout --composefs` works), with the
# shared libraries it loads and that suite's dynamic loader, so that it runs
# on an older host without installing anything. The package closure is
# what apt resolves for ostree alone (from an empty package database, so
# that the host's installed packages do not count); only the programs' and
# libraries' DT_NEEDED closure is staged. Prints the staged tree's path;
# run ostree as "$stage/ostree" (a wrapper that starts it with its own
# loader and libraries).
. "$(dirname "$0")/common.sh"

dir=$OSTREE_DIR
stage=$dir/stage
key=$({ echo "$OSTREE_SUITE"; cat "$0"; } | sha256sum | cut -c1-16)
if [ -e "$stage/.ok-$key" ]; then
	echo "$stage"
	exit 0
fi

apt_alt_update
work=$(mktemp -d "$CACHE_DIR/ostree.XXXXXX")
trap 'rm -rf "$work"' EXIT
touch "$work/status"
# Every library package of ostree's dependency closure in that suite.
pkgs=$(apt_alt -o Dir::State::status="$work/status" -t "$OSTREE_SUITE" \
	install -s --no-install-recommends ostree 2>/dev/null |
	awk '$1 == "Inst" { print $2 }' | grep -E '^(lib|zlib1g$|ostree$)' || true)
case " $(echo $pkgs) " in
*" ostree "*) ;;
*) log "apt resolved no ostree in $OSTREE_SUITE"; exit 1 ;;
esac
log "downloading ostree ($OSTREE_SUITE) and its libraries"
# shellcheck disable=SC2046
(cd "$work" && apt_alt download $(for p in $pkgs; do echo "$p/$OSTREE_SUITE"; done) >/dev/null)
mkdir -p "$work/root" "$work/stage"
for deb in "$work"/*.deb; do
	dpkg-deb -x "$deb" "$work/root"
done

lib=usr/lib/x86_64-linux-gnu
mkdir -p "$work/stage/usr/bin" "$work/stage/$lib"
cp -a "$work/root/usr/bin/ostree" "$work/stage/usr/bin/"
todo="$work/root/usr/bin/ostree"
seen=" "
while [ -n "${todo// /}" ]; do
	next=""
	for f in $todo; do
		for n in $(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
			case $seen in *" $n "*) continue ;; esac
			seen="$seen$n "
			[ -e "$work/root/$lib/$n" ] || { log "$n (needed by ${f#"$work/root/"}) is in none of the packages"; exit 1; }
			cp -a "$work/root/$lib/$n" "$work/stage/$lib/"
			real=$(readlink -f "$work/root/$lib/$n")
			[ "$real" = "$work/root/$lib/$n" ] || cp -a "$real" "$work/stage/$lib/"
			next="$next $real"
		done
	done
	todo=$next
done
cp -a "$work/root/$lib/ld-linux-x86-64.so.2" "$work/stage/$lib/"
cat >"$work/stage/ostree" <<'WRAP'
#!/bin/sh
here=$(dirname "$(readlink -f "$0")")
exec "$here/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" \
	--library-path "$here/usr/lib/x86_64-linux-gnu" "$here/usr/bin/ostree" "$@"
WRAP
chmod +x "$work/stage/ostree"
"$work/stage/ostree" --version | grep -q -- '- composefs$' ||
	{ log "the staged ostree does not run or lacks composefs support"; exit 1; }
rm -rf "$stage"
mkdir -p "$dir"
mv "$work/stage" "$stage"
touch "$stage/.ok-$key"
echo "$stage"
