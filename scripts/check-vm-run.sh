#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Prove that selftests/vm-run fails a run on a kernel report: load the canary
# module (selftests/canary) once with mode=warn and once with mode=leak and
# expect vm-run to exit 125 with the report on its output. The warn case also
# expects the kernel log streamed on stderr: the warning's own message line,
# which vm-run's summary of report lines does not repeat. Prints one KTAP
# line per case; exits non-zero if vm-run missed one.
. "$(dirname "$0")/common.sh"

kdir=$("$PROJECT_ROOT/scripts/build-kernel.sh" debug)
. "$PROJECT_ROOT/scripts/toolchain-env.sh"
work=$PROJECT_ROOT/build/canary
rm -rf "$work"
mkdir -p "$work"
cp "$PROJECT_ROOT"/selftests/canary/{canary.c,Makefile} "$work/"
make -s -C "$kdir" M="$work" modules >/dev/null
mkdir -p "$work/attach"
cp "$work/canary.ko" "$work/attach/"

n=0 failed=0
for mode in warn leak; do
	n=$((n + 1))
	set +e
	"$PROJECT_ROOT/selftests/vm-run" --attach "$work/attach" -- \
		insmod /attach/attach/canary.ko mode=$mode >"$work/$mode.log" 2>&1
	rc=$?
	set -e
	case $mode in
	warn) pattern='WARNING: canary' streamed='selftest canary: deliberate warning' ;;
	leak) pattern='unreferenced object' streamed=$pattern ;;
	esac
	if [ $rc = 125 ] && grep -q "$pattern" "$work/$mode.log" &&
		grep -q "$streamed" "$work/$mode.log"; then
		echo "ok $n vm-run fails the run on a kernel $mode report"
	else
		echo "# vm-run exited $rc; last lines:"
		tail -n 5 "$work/$mode.log" | sed 's/^/# /'
		echo "not ok $n vm-run fails the run on a kernel $mode report"
		failed=1
	fi
done
exit $failed
