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
debs_unpack "$work" $(for p in $pkgs; do echo "$p/$OSTREE_SUITE"; done)
stage_programs "$work/root" "$work/stage" usr/bin/ostree
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
