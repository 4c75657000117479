#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of scripts/profile.sh: a profile of benchmark metrics on each
# side, by sampling (perf) or by the ftrace function profiler.
#
#   sh profile.sh [ENTRIES [TOP [SEED [METRICS [MANY [PERF]]]]]]
#
# Builds a generated workload as guest.sh does (ENTRIES entries). METRICS
# (comma-separated, default walk_cold,walk_warm) picks what is profiled,
# each the way the benchmark measures it:
#
#   walk_cold        walk of a fresh mount after drop_caches
#   walk_warm        second walk of one mount
#   many_mounts      mounting MANY (default 200) distinct images of 200
#                    entries sharing one store, after drop_caches
#   container_start  4 processes each opening, reading and closing the same
#                    3,000 files of the workload, each over its own fresh
#                    mount after drop_caches (direct: the objects read from
#                    the store; erofs_direct: each file looked up and opened
#                    on EROFS alone, then its object read directly)
#
# For each metric and side it prints the metric's time with and without the
# profiler, and then the TOP functions.
#
#   PROFILE <metric> <side> <ms unprofiled> <ms profiled> <count>
#
# With PERF (the directory of a staged perf, scripts/fetch-perf.sh): perf
# samples every CPU on the cpu-clock event while the metric runs (the idle
# loop left out). Every function is seen, the module's Rust code included,
# by the time spent in its own code (inlined callees included, called ones
# not); under TCG the sampling timer moves in jiffies, so a sample stands
# for about one tick of CPU time:
#
#   <function> <samples> <% of the samples>
#
# Without PERF, on the profiling kernel (selftests/config.prof): the ftrace
# function profiler, which counts calls and charges a function with its
# callees' time, but sees only functions with an fentry call: the kernel's
# C code and the module's C helpers, not its Rust code, whose time shows up
# in its callers (->lookup in __lookup_slow, ->iterate_shared in
# iterate_dir). Its own cost (~1 us per traced call under TCG) is in every
# number, so the profiled run is several times slower: compare hits, and
# times of the same function across sides, rather than with the unprofiled
# run. container_start's profiles count CPU time only (the profiler's
# sleep-time off), the others' also the time a function waited:
#
#   <function> <hits> <us, callees included> <us per hit>

ENTRIES=${1:-20000}
TOP=${2:-40}
SEED=${3:-1}
METRICS=$(echo "${4:-walk_cold,walk_warm}" | tr , ' ')
MANY=${5:-200}
PERF=${6:-}

S=/scratch
M=/mnt/prof
T=/sys/kernel/tracing
if [ -n "$PERF" ]; then
	# Its own loader and libraries, apart from the guest's.
	PERF_CMD="$PERF/usr/lib64/ld-linux-x86-64.so.2 --library-path $PERF/usr/lib/x86_64-linux-gnu $PERF/usr/bin/perf"
	perf() { $PERF_CMD "$@"; }
	perf --version >/dev/null || { echo "# perf does not run in this guest"; exit 1; }
	# Kernel addresses and every CPU for root's samples.
	echo 0 >/proc/sys/kernel/kptr_restrict
	echo -1 >/proc/sys/kernel/perf_event_paranoid
else
	mount -t tracefs tracefs $T 2>/dev/null
	[ -e $T/function_profile_enabled ] || { echo "# no function profiler in this kernel"; exit 1; }
fi
modprobe composefs || exit 1
export CFS_BENCH_TSC_HZ
CFS_BENCH_TSC_HZ=$(cfs-bench calibrate 1)
echo "# guest: kernel $(uname -r), $(nproc) cpu(s)"

cfs-bench gen -s "$SEED" -n "$ENTRIES" /tmp/src >/dev/null 2>/tmp/gen.err ||
	{ cat /tmp/gen.err; exit 1; }
mkcomposefs --quiet --digest-store=$S/store /tmp/src $S/img.cfs || exit 1
cfs-bench verity $S/store >/dev/null || exit 1
# The warm walk's floor is the same tree on tmpfs (as in guest.sh).
case " $METRICS " in *" walk_warm "*) ;; *) rm -rf /tmp/src ;; esac

. "$(dirname "$0")/sides.sh"
mkdir -p $M/composefs $M/reference $M/reference.erofs $M/erofs
use_image $S/img.cfs $S/store

# Where the shell and idle CPU spend the walk (sleeping), not profiled.
SLEEP='^(schedule|schedule_idle|schedule_timeout|do_idle|cpu_startup_entry|default_idle_call|.*_sys_wait4|kernel_wait4|do_wait|__do_wait|do_nanosleep|hrtimer_nanosleep|.*_sys_nanosleep|.*_sys_clock_nanosleep|common_nsleep)$'

# The graph profiler charges a function with its callees' time.
[ -n "$PERF" ] || echo 1 >$T/options/graph-time
# Where an idle CPU's samples fall (perf).
IDLE='^(pv_native_safe_halt|native_safe_halt|default_idle|default_idle_call|do_idle|cpu_idle_poll|acpi_safe_halt|mwait_idle.*|intel_idle.*|poll_idle)$'

# prepare METRIC: what the metric's runs share.
prepare() {
	local i a
	case $1 in
	many_mounts)
		# A small template (its objects back every image's files), then
		# MANY images from generated dumps, as scripts/bench.sh builds them.
		cfs-bench gen -s "$SEED" -n 100 /tmp/tmpl >/dev/null 2>&1 &&
			mkcomposefs --quiet --digest-store=$S/store-tmpl /tmp/tmpl $S/tmpl.cfs &&
			composefs-info dump $S/tmpl.cfs >$S/tmpl.dump &&
			cfs-bench verity $S/store-tmpl >/dev/null || return 1
		rm -rf /tmp/tmpl
		mkdir -p $S/many
		i=0
		while [ $i -lt "$MANY" ]; do
			a=$(printf %04d $i)
			cfs-bench gendump -x -n 200 -f 50 -t "m$a-" $S/tmpl.dump |
				mkcomposefs --from-file - $S/many/img$a.cfs || return 1
			mkdir -p $M/many/c$a $M/many/e$a $M/many/r$a $M/many/re$a
			i=$((i + 1))
		done
		sync ;;
	container_start)
		start_files ;;
	esac
}

# sides METRIC: the sides METRIC is profiled on.
sides() {
	case $1 in
	walk_warm) echo $SIDES tmpfs ;;
	# EROFS alone has no data for the files (the image holds only their
	# metadata and redirects).
	container_start) echo $SIDES direct erofs_direct | sed 's/ erofs / /' ;;
	*) echo $SIDES ;;
	esac
}

# walk_root SIDE: the root of the tree SIDE walks.
walk_root() {
	if [ $1 = tmpfs ]; then echo /tmp/src; else echo $M/$1; fi
}

# ready METRIC SIDE: SIDE as METRIC finds it before it is timed.
ready() {
	case $1 in
	walk_cold|many_mounts|container_start)
		cfs-bench drop
		cfs-bench drop
		sleep 1 ;;
	esac
	case $1 in
	walk_cold) mnt $2 ;;
	walk_warm) mnt $2 && cfs-bench walk $(walk_root $2) >/dev/null ;;
	container_start) start_mount $2 ;;
	esac
}

# timed METRIC SIDE: the measured step; prints "MS COUNT".
timed() {
	case $1 in
	walk_*) cfs-bench walk $(walk_root $2) ;;
	many_mounts)
		case $2 in
		composefs)
			cfs-bench mountall "$MANY" composefs "basedir=$S/store-tmpl" "$S/many/img{}.cfs" "$M/many/c{}" ;;
		erofs)
			cfs-bench mountall "$MANY" erofs "$EROFS_OPTS" "$S/many/img{}.cfs" "$M/many/e{}" ;;
		reference)
			cfs-bench mountall "$MANY" erofs "$EROFS_OPTS" "$S/many/img{}.cfs" "$M/many/re{}" \
				overlay "ro,metacopy=on,redirect_dir=on,verity=require,lowerdir=$M/many/re{}::$S/store-tmpl" \
				composefs "$M/many/r{}" ;;
		esac ;;
	container_start) start_read $2 | cut -d' ' -f1,2 ;;
	esac
}

# finish METRIC SIDE: undoes ready and timed.
finish() {
	case $1 in
	walk_*) [ $2 = tmpfs ] || umnt $2 ;;
	many_mounts)
		case $2 in
		composefs) cfs-bench umountall "$MANY" "$M/many/c{}" ;;
		erofs) cfs-bench umountall "$MANY" "$M/many/e{}" ;;
		reference) cfs-bench umountall "$MANY" "$M/many/r{}" ;;
		esac >/dev/null ;;
	container_start) start_umount $2 ;;
	esac
}

# sampled METRIC SIDE: timed, with perf sampling every CPU; the samples
# go to /tmp/perf.data. perf starts with its events off and turns them on
# when told through its control fifo, so that its own start and end are
# left out.
sampled() {
	local pid ack
	rm -f /tmp/perf.ctl /tmp/perf.ack /tmp/perf.data
	mkfifo /tmp/perf.ctl /tmp/perf.ack
	# A command, not the function: $! is then perf itself, which a signal
	# reaches (a background subshell would ignore SIGINT and wait on).
	$PERF_CMD record -q -a -e cpu-clock -D -1 --control fifo:/tmp/perf.ctl,/tmp/perf.ack \
		-o /tmp/perf.data >/dev/null 2>/tmp/perf.err &
	pid=$!
	echo enable >/tmp/perf.ctl
	read -r ack </tmp/perf.ack
	timed $1 $2 >/tmp/timed.out
	echo disable >/tmp/perf.ctl
	read -r ack </tmp/perf.ack
	kill -INT $pid
	wait $pid
}

# top_sampled: the TOP functions of /tmp/perf.data by samples, the idle
# loop left out, with their share of the rest.
top_sampled() {
	perf report -i /tmp/perf.data --stdio --no-children -n --sort sym 2>/dev/null |
		awk -v IDLE="$IDLE" -v TOP="$TOP" '
			$1 ~ /%$/ && ($3 == "[k]" || $3 == "[.]") {
				if ($4 ~ IDLE) next
				n++; f[n] = $4; c[n] = $2; total += $2 }
			END {
				printf "# %d samples outside the idle loop\n", total
				for (i = 1; i <= n && i <= TOP; i++)
					printf "%s %d %.1f\n", f[i], c[i], 100 * c[i] / total }'
}

# traced METRIC SIDE: timed, under the ftrace function profiler.
traced() {
	# With four readers at once, time a task spent scheduled out (in
	# another's I/O wait or CPU time) would be charged to the functions it
	# waited in: profile CPU time only.
	if [ $1 = container_start ]; then
		echo 0 >$T/options/sleep-time
	else
		echo 1 >$T/options/sleep-time
	fi
	echo 0 >$T/function_profile_enabled
	echo 1 >$T/function_profile_enabled
	# To a file, not a pipe: the shell then waits in wait4, left out below
	# with the idle loop, rather than reading a pipe.
	timed $1 $2 >/tmp/timed.out
	echo 0 >$T/function_profile_enabled
}

# top_traced: the TOP functions of the function profile by time.
top_traced() {
	# One table per CPU: add them up. Rows: function hits time "us" ...
	cat $T/trace_stat/function* |
		awk -v SLEEP="$SLEEP" '$1 != "Function" && $1 !~ /^-/ && $4 == "us" && $1 !~ SLEEP {
			h[$1] += $2; t[$1] += $3 }
		END { for (f in h) printf "%s %d %.0f %.2f\n", f, h[f], t[f], t[f] / h[f] }' |
		sort -k3 -n -r | head -n "$TOP"
}

# profile METRIC SIDE: the metric, unprofiled and profiled, each from the
# same starting state, and the profile's top functions.
profile() {
	local plain profiled
	ready $1 $2 || { echo "# $1 $2: setup failed"; return; }
	plain=$(timed $1 $2)
	finish $1 $2
	ready $1 $2 || { echo "# $1 $2: setup failed"; return; }
	if [ -n "$PERF" ]; then sampled $1 $2; else traced $1 $2; fi
	profiled=$(cat /tmp/timed.out)
	finish $1 $2
	echo "PROFILE $1 $2 ${plain%% *} ${profiled%% *} ${profiled#* }"
	if [ -n "$PERF" ]; then top_sampled; else top_traced; fi
}

for metric in $METRICS; do
	prepare $metric || { echo "# $metric: preparing failed"; continue; }
	for side in $(sides $metric); do
		profile $metric $side
	done
done
