#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make check`: the host tests (cargo test over the tools and the shared
# format reader, with the reference mkcomposefs as oracle), the module built
# for Debian's stock kernel with rustc 1.85.1 (the kernel's minimum Rust)
# and its clippy, and the in-guest selftests (installed by kselftest's
# Makefile into build/kselftest by scripts/build-intree.sh, run by the
# kernel's run_kselftest.sh through selftests/run.sh under selftests/vm-run
# with the debug kernel).
# KERNEL=debian (`make check KERNEL=debian`): the guest selftests run on
# Debian 13's stock kernel instead, with that build of the module; the
# in-tree build and the canary run, which concern the debug kernel, are left
# out (each says so).
# Ends with "N passed, N failed, N skipped"; exits non-zero on any failure.
# `make all` (or `make tools selftests` for KERNEL=debian) has built the
# module, tools and guest helpers before this runs.
. "$(dirname "$0")/common.sh"
cd "$PROJECT_ROOT"
mkdir -p build
kernel=${KERNEL:-debug}
case $kernel in
debug | debian) ;;
*) log "KERNEL=$kernel: the guest selftests run on the debug or the debian kernel"; exit 2 ;;
esac

pass=0 fail=0 skipped=0

log "host tests (cargo test)"
if [ -z "${CFS_ORACLE_DIR:-}" ]; then
	CFS_ORACLE_DIR=$(scripts/fetch-oracle.sh)
fi
export CFS_ORACLE_DIR
set +e
(cd tools && cargo test --locked --workspace 2>&1) | tee build/host-tests.log
host_rc=${PIPESTATUS[0]}
set -e
while read -r p f i; do
	pass=$((pass + p)) fail=$((fail + f)) skipped=$((skipped + i))
done < <(sed -n 's/^test result: [a-zA-Z]*\. \([0-9]*\) passed; \([0-9]*\) failed; \([0-9]*\) ignored.*/\1 \2 \3/p' build/host-tests.log)
if [ "$host_rc" != 0 ] && ! grep -q '^test result: FAILED' build/host-tests.log; then
	echo "# cargo test exited with status $host_rc without a failing test (build error?)"
	fail=$((fail + 1))
fi
echo "# host: $pass passed, $fail failed, $skipped skipped"

log "module for Debian's stock $DEBIAN_KREL, with Debian's rustc 1.85.1 (the kernel's minimum) and clippy"
start=$SECONDS
if scripts/build-distro.sh debian >build/distro-debian.log 2>&1; then
	grep '^==> ' build/distro-debian.log | sed 's/^==> /# /'
	echo "ok module builds for Debian's $DEBIAN_KREL with rustc 1.85.1 and clippy, warning-free, every symbol exported ($((SECONDS - start)) s)"
	pass=$((pass + 1))
else
	tail -n 30 build/distro-debian.log | sed 's/^/# /'
	echo "not ok module builds for Debian's $DEBIAN_KREL with rustc 1.85.1 and clippy, warning-free, every symbol exported"
	fail=$((fail + 1))
fi

rm -rf build/kselftest
if [ "$kernel" = debian ]; then
	echo "ok in-tree build and canary run # SKIP they concern the debug kernel: run make check for them"
	skipped=$((skipped + 1))
else
	log "in-tree build (fs/composefs/, W=1, clippy; selftests through kselftest)"
	if scripts/build-intree.sh >build/intree.log 2>&1; then
		echo "ok in-tree build of fs/composefs/ with W=1 and clippy is warning-free"
		pass=$((pass + 1))
	else
		tail -n 30 build/intree.log | sed 's/^/# /'
		echo "not ok in-tree build of fs/composefs/ with W=1 and clippy is warning-free"
		fail=$((fail + 1))
	fi
	if [ -x build/kselftest/run_kselftest.sh ]; then
		echo "ok selftests built and installed through kselftest's Makefile (build/kselftest)"
		pass=$((pass + 1))
	else
		echo "not ok selftests built and installed through kselftest's Makefile (build/kselftest)"
		fail=$((fail + 1))
	fi

	log "vm-run catches kernel reports (canary module)"
	set +e
	scripts/check-vm-run.sh | tee build/vm-run-canary.log
	set -e
	pass=$((pass + $(grep -c '^ok ' build/vm-run-canary.log || true)))
	fail=$((fail + $(grep -c '^not ok ' build/vm-run-canary.log || true)))
fi

log "test data: dumps, and images from the reference mkcomposefs"
rm -rf build/testdata
mkdir -p build/testdata
selftests/gen-testdata.py build/testdata
cp tools/composefs-info/tests/dumps/*.dump build/testdata/
for dump in build/testdata/*.dump; do
	for v in 0 1; do
		"$CFS_ORACLE_DIR/mkcomposefs" --from-file --min-version=$v "$dump" \
			"${dump%.dump}-ref-v$v.cfs"
	done
done
log "test data: SELinux policies (secilc)"
scripts/build-selinux-policy.sh build/testdata/selinux
log "test data: images from composefs-rs"
scripts/gen-cfsrs-images.sh build/testdata
log "test data: an ostree repository and its images, composefs-rs repositories, container layers"
scripts/gen-writer-repos.sh build/testdata

log "guest selftests on the $kernel kernel (run_kselftest.sh in selftests/vm-run; kernel log in build/guest-console.log)"
if [ "$kernel" = debian ]; then
	# What vm-run can catch depends on the kernel's debug options.
	echo "# Debian's kernel has no lockdep, kmemleak or Rust debug assertions and SLUB debug is off: this run fails on oopses, BUG, WARN, KFENCE (kfence.sample_interval=10) and Rust overflow panics only"
fi
# The guest says which kernel it runs before the suite starts.
uname_first=(sh -c 'echo "# guest kernel: $(uname -r)"; exec sh "$@"' sh)
if [ -x build/kselftest/run_kselftest.sh ]; then
	suite=(--attach build/kselftest --attach build/testdata -- "${uname_first[@]}" /attach/kselftest/filesystems/composefs/run.sh)
else
	# KERNEL=debian, or the in-tree step failed before installing the tests
	# (its failure is counted above): run the scripts from the source
	# directory instead.
	echo "# no kselftest install in build/kselftest: running selftests/ directly"
	suite=(--attach selftests --attach build/testdata -- "${uname_first[@]}" /attach/selftests/run.sh)
fi
# The scripts run in two guests at once, one per host core: most of them
# are serial shell, so one guest leaves a core idle. The first guest takes
# the slowest scripts (GUEST_SHARD, about half of the time), the second
# every other script, so a new script is never left out; test_selinux.sh,
# whose policy stays loaded, runs last in the second. CHECK_TESTS names the
# scripts to run in one guest instead. Only the first guest's output is
# streamed; the second's follows when both are done.
GUEST_SHARD=${GUEST_SHARD:-"test_cfsrs.sh test_corrupt.sh test_overlay_top.sh test_perm.sh test_faults.sh test_fdmount.sh test_layers.sh test_module.sh"}
if [ -n "${CHECK_TESTS:-}" ]; then
	shards=("$CHECK_TESTS")
else
	rest=
	for t in $(cd selftests && ls test_*.sh | grep -vx test_selinux.sh) test_selinux.sh; do
		case " $GUEST_SHARD " in *" $t "*) ;; *) rest="$rest $t" ;; esac
	done
	shards=("$GUEST_SHARD" "$rest")
fi
# run_guest N TESTS: guest N's run; its results in build/guest-tests-N.log.
run_guest() {
	# Each script has its own timeout (selftests/settings); the guest's is
	# a backstop for the whole suite.
	# shellcheck disable=SC2086
	selftests/vm-run --kernel "$kernel" --timeout "${VM_TIMEOUT:-7200}" "${suite[@]}" $2 \
		2>"build/guest-console-$1.log" >"build/guest-tests-$1.log"
	echo $? >"build/guest-tests-$1.rc"
}
set +e
rm -f build/guest-tests-*.log build/guest-tests-*.rc build/guest-console-*.log
for i in "${!shards[@]}"; do : >"build/guest-tests-$i.log"; done
for i in "${!shards[@]}"; do
	[ "$i" = 0 ] || run_guest "$i" "${shards[$i]}" &
done
run_guest 0 "${shards[0]}" &
first=$!
tail -n +1 -f build/guest-tests-0.log --pid=$first 2>/dev/null &
wait
for i in "${!shards[@]}"; do
	[ "$i" = 0 ] || cat "build/guest-tests-$i.log"
done
set -e
cat build/guest-tests-*.log >build/guest-tests.log
cat build/guest-console-*.log >build/guest-console.log
for i in "${!shards[@]}"; do
	guest_rc=$(cat "build/guest-tests-$i.rc")
	line=$(grep '^guest: [0-9]* passed, [0-9]* failed, [0-9]* skipped' "build/guest-tests-$i.log" | tail -n1 || true)
	f=0
	if [ -n "$line" ]; then
		read -r p f s < <(echo "$line" | sed 's/^guest: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped.*/\1 \2 \3/')
		pass=$((pass + p)) fail=$((fail + f)) skipped=$((skipped + s))
	else
		echo "# guest $i did not report results"
		fail=$((fail + 1))
	fi
	if [ "$guest_rc" != 0 ] && { [ -z "$line" ] || [ "$f" = 0 ]; }; then
		# A kernel report (exit 125) or a timeout (124) fails the run even
		# when every test passed.
		echo "# guest $i: vm-run exited with status $guest_rc (125: kernel report, 124: timeout)"
		fail=$((fail + 1))
	fi
	if [ "$guest_rc" != 0 ]; then
		echo "# guest $i's kernel log ends with:"
		tail -n 80 "build/guest-console-$i.log" | sed 's/^/# /'
	fi
done

echo "$pass passed, $fail failed, $skipped skipped"
[ "$fail" = 0 ]
