#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Long guest runs for `make fuzz` and `make stress` (issue 6):
#   soak.sh corrupt  test_corrupt.sh with CORRUPT_COUNT (default 5000) images
#   soak.sh stress   test_faults.sh with STRESS_SECONDS (default 600) of load
# Ends with the guest's "N passed, N failed, N skipped" line; non-zero exit on
# any failure or kernel report (then the kernel log's last lines follow).
. "$(dirname "$0")/common.sh"
cd "$PROJECT_ROOT"
mode=${1:?usage: soak.sh corrupt|stress}
case $mode in
corrupt)
	env=(CORRUPT_COUNT="${CORRUPT_COUNT:-5000}" CORRUPT_SEED="${CORRUPT_SEED:-$(date +%s)}")
	tests=test_corrupt.sh
	;;
stress)
	env=(STRESS_SECONDS="${STRESS_SECONDS:-600}")
	tests=test_faults.sh
	;;
*) echo "soak.sh: unknown mode $mode" >&2; exit 2 ;;
esac
log "guest soak: ${env[*]} $tests (kernel log in build/soak-console.log)"
mkdir -p build
rc=0
VM_TIMEOUT=${VM_TIMEOUT:-36000} selftests/vm-run --attach selftests -- \
	env "${env[@]}" sh /attach/selftests/run.sh $tests 2>build/soak-console.log || rc=$?
if [ $rc != 0 ]; then
	echo "# vm-run exited with status $rc; the guest's kernel log ends with:"
	tail -n 80 build/soak-console.log | sed 's/^/# /'
fi
exit $rc
