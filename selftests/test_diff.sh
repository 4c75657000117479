#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Differential test: cfs-diff (tools/cfs-diff) generates random trees,
# images (v0, v1, sometimes damaged), stores whose objects are in random
# states and operation sequences, runs each sequence on composefs and on
# EROFS + overlayfs over the same image and store, and compares every
# result and errno. The seeds are fixed, so a failure replays with the
# command it prints. DIFF_SEEDS / DIFF_ROUNDS / DIFF_OPS change the set
# (`make difftest` runs long random-seed runs instead). Seeds 2, 4 and 5 show
# divergences still open in issue 14 (composefs ENOENT where the reference
# finds the file); they join this set once fixed.
. ./lib.sh
load_module

seeds=${DIFF_SEEDS:-"1 3"}
rounds=${DIFF_ROUNDS:-2}
ops=${DIFF_OPS:-200}
for s in $seeds; do
	# Streamed, so that a slow or stuck round shows where it is.
	{ cfs-diff -s "$s" -n "$rounds" -o "$ops" 2>&1; echo "rc=$?"; } | tee /tmp/diff.out | awk '{ print "# " $0; fflush() }'
	rc=$(sed -n 's/^rc=//p' /tmp/diff.out)
	if [ "$rc" = 0 ] && grep -q '^difftest: .* 0 divergences' /tmp/diff.out; then
		ktap_result pass "seed $s: $(grep '^difftest:' /tmp/diff.out)"
	else
		ktap_result fail "seed $s: $(grep '^difftest:' /tmp/diff.out || echo "cfs-diff exited with $rc")"
	fi
done
ktap_finish
