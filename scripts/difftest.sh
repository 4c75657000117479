#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make difftest [DIFF_SECONDS=N] [DIFF_SEED=S]`: a long run of the
# differential tester (tools/cfs-diff) in the debug guest, from a random
# seed unless DIFF_SEED is given. Every divergence is printed with the
# command that replays its round; the run ends with
# "difftest: N rounds, N operations, N divergences". The output is kept in
# build/difftest-<seed>.log, the kernel log in build/difftest-<seed>-console.log,
# so that runs of two seeds can share a work tree.
. "$(dirname "$0")/common.sh"
cd "$PROJECT_ROOT"
seconds=${DIFF_SECONDS:-600}
seed=${DIFF_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
log "difftest: seed $seed for ${seconds}s (kernel log in build/difftest-$seed-console.log)"
mkdir -p build
set +e
selftests/vm-run --timeout $((seconds + 600)) -- \
	sh -c "modprobe composefs && cfs-diff -s $seed -t $seconds" \
	2>"build/difftest-$seed-console.log" | tee "build/difftest-$seed.log"
rc=${PIPESTATUS[0]}
exit "$rc"
