#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of scripts/profile.sh (selftests/vm-run --kernel prof, one
# vCPU): an ftrace function profile of the walk metrics on each side.
#
#   sh profile.sh [ENTRIES [TOP [SEED]]]
#
# Builds a generated workload as guest.sh does (ENTRIES entries), then for
# walk_cold (fresh mount after drop_caches) and walk_warm (second walk of one
# mount) on each side prints the walk's time with and without the profiler,
# and the TOP functions by time:
#
#   PROFILE <metric> <side> <ms unprofiled> <ms profiled> <entries>
#   <function> <hits> <us, callees included> <us per hit>
#
# Only functions with an fentry call are seen: the kernel's C code and the
# module's C helpers, not its Rust code, whose time shows up in its callers
# (->lookup in __lookup_slow, ->iterate_shared in iterate_dir). The
# profiler's own cost (~1 us per traced call under TCG) is in every number,
# so the profiled walk is several times slower: compare hits, and times of
# the same function across sides, rather than with the unprofiled walk.

ENTRIES=${1:-20000}
TOP=${2:-40}
SEED=${3:-1}

S=/scratch
M=/mnt/prof
T=/sys/kernel/tracing
mount -t tracefs tracefs $T 2>/dev/null
[ -e $T/function_profile_enabled ] || { echo "# no function profiler in this kernel"; exit 1; }
modprobe composefs || exit 1
export CFS_BENCH_TSC_HZ
CFS_BENCH_TSC_HZ=$(cfs-bench calibrate 1)
echo "# guest: kernel $(uname -r), $(nproc) cpu(s)"

cfs-bench gen -s "$SEED" -n "$ENTRIES" /tmp/src >/dev/null 2>/tmp/gen.err ||
	{ cat /tmp/gen.err; exit 1; }
mkcomposefs --quiet --digest-store=$S/store /tmp/src $S/img.cfs || exit 1
cfs-bench verity $S/store >/dev/null || exit 1
rm -rf /tmp/src

. "$(dirname "$0")/sides.sh"
mkdir -p $M/composefs $M/reference $M/reference.erofs $M/erofs
use_image $S/img.cfs $S/store

# Where the shell and idle CPU spend the walk (sleeping), not profiled.
SLEEP='^(schedule|schedule_idle|schedule_timeout|do_idle|cpu_startup_entry|default_idle_call|.*_sys_wait4|kernel_wait4|do_wait|__do_wait|do_nanosleep|hrtimer_nanosleep|.*_sys_nanosleep|.*_sys_clock_nanosleep|common_nsleep)$'

# The graph profiler charges a function with its callees' time.
echo 1 >$T/options/graph-time

# ready METRIC SIDE: mounts SIDE as METRIC measures it: after drop_caches
# for walk_cold, after an untimed walk for walk_warm.
ready() {
	if [ $1 = walk_cold ]; then
		cfs-bench drop
		sleep 1
	fi
	mnt $2 || { echo "# $2: mount failed"; return 1; }
	if [ $1 = walk_warm ]; then cfs-bench walk $M/$2 >/dev/null; fi
}

# profile METRIC SIDE: the walk, unprofiled and profiled, each on a mount
# made ready for METRIC, and the profile's top functions.
profile() {
	local plain traced
	ready $1 $2 || return
	plain=$(cfs-bench walk $M/$2)
	umnt $2
	ready $1 $2 || return
	echo 0 >$T/function_profile_enabled
	echo 1 >$T/function_profile_enabled
	# To a file, not a pipe: the shell then waits in wait4, left out below
	# with the idle loop, rather than reading a pipe.
	cfs-bench walk $M/$2 >/tmp/walk.out
	echo 0 >$T/function_profile_enabled
	traced=$(cat /tmp/walk.out)
	umnt $2
	echo "PROFILE $1 $2 ${plain%% *} ${traced%% *} ${traced#* }"
	# One table per CPU: add them up. Rows: function hits time "us" ...
	cat $T/trace_stat/function* |
		awk -v SLEEP="$SLEEP" '$1 != "Function" && $1 !~ /^-/ && $4 == "us" && $1 !~ SLEEP {
			h[$1] += $2; t[$1] += $3 }
		END { for (f in h) printf "%s %d %.0f %.2f\n", f, h[f], t[f], t[f] / h[f] }' |
		sort -k3 -n -r | head -n "$TOP"
}

for metric in walk_cold walk_warm; do
	for side in $SIDES; do
		profile $metric $side
	done
done
