#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest-side runner: runs every test_*.sh (or those named on the command
# line), prints their KTAP output and a closing
# "guest: N passed, N failed, N skipped" line counting the checks of all
# scripts. Exit status 0 only if none failed.
#
# Installed by kselftest (run_kselftest.sh two directories up, as
# `make check` boots the guest), the tests run through the kernel's
# run_kselftest.sh: KTAP with each script's output nested, each script
# under the `settings` timeout. Run from the source directory (by hand:
# vm-run --attach selftests -- sh /attach/selftests/run.sh test_x.sh, or
# the soak runs), each script runs directly, without a timeout.
cd "$(dirname "$0")" || exit 1
here=$(pwd -P)
base=$(cd ../.. && pwd -P)

if [ -x "$base/run_kselftest.sh" ] && [ -r "$base/kselftest-list.txt" ]; then
	collection=${here#"$base"/}
	args=""
	for t in "$@"; do args="$args -t $collection:$t"; done
	# run_kselftest.sh prefixes each script's lines with "# ": a nested
	# "ok"/"not ok" is one check; a top-level "not ok" with no failed
	# check (exit status, timeout) counts as one failure.
	# shellcheck disable=SC2086
	"$base/run_kselftest.sh" $args 2>&1 | awk '
	function flush_line() { fflush() }
	{ print; flush_line() }
	!planned && /^1\.\.[0-9]+$/ { planned = substr($0, 4) + 0 }
	/^# selftests: / { start = systime(); p = f = s = 0 }
	/^# ok [0-9]+ / { if (/ # SKIP/) s++; else p++ }
	/^# not ok [0-9]+ / { f++ }
	/^(ok|not ok) [0-9]+ selftests: / {
		results++
		name = $0; sub(/^(ok|not ok) [0-9]+ selftests: [^:]*: /, "", name); sub(/ .*/, "", name)
		if (/^not ok/ && f == 0) {
			print "# " name " failed without a failing check (" (/TIMEOUT/ ? "timeout" : "exit status") ")"
			f = 1
		}
		print "# " name ": " p " passed, " f " failed, " s " skipped in " (systime() - start) " s"
		pass += p; fail += f; skip += s; p = f = s = 0
		flush_line()
	}
	END {
		if (results < planned || planned == 0) {
			print "# run_kselftest.sh reported " results + 0 " of " planned + 0 " planned results"
			fail++
		}
		print "guest: " pass + 0 " passed, " fail + 0 " failed, " skip + 0 " skipped"
		exit fail != 0
	}'
	exit $?
fi

pass=0 fail=0 skipped=0
# test_selinux.sh last, as in the Makefile: its policy stays loaded.
tests=${*:-$(ls test_*.sh | grep -vx test_selinux.sh) test_selinux.sh}
for t in $tests; do
	out=/tmp/${t%.sh}.out
	start=$(date +%s)
	# Streamed as it comes; the exit status goes through a file.
	{ sh "./$t" 2>&1; echo $? >"$out.rc"; } | tee "$out"
	rc=$(cat "$out.rc")
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
