#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest-side runner: runs every selftests/test_*.sh (or those named on the
# command line), prints their KTAP output and a closing
# "N passed, N failed, N skipped" line. Exit status 0 only if none failed.
cd "$(dirname "$0")" || exit 1
pass=0 fail=0 skipped=0
tests=${*:-$(ls test_*.sh)}
for t in $tests; do
	out=/tmp/${t%.sh}.out
	start=$(date +%s)
	sh "./$t" >"$out" 2>&1
	rc=$?
	cat "$out"
	p=$(grep -c '^ok ' "$out")
	s=$(grep -c '^ok .* # SKIP' "$out")
	f=$(grep -c '^not ok ' "$out")
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		echo "# $t exited with status $rc without reporting a failure"
		f=1
	fi
	pass=$((pass + p - s)) skipped=$((skipped + s)) fail=$((fail + f))
	echo "# $t: $((p - s)) passed, $f failed, $s skipped in $(($(date +%s) - start)) s"
done
echo "guest: $pass passed, $fail failed, $skipped skipped"
[ "$fail" = 0 ]
