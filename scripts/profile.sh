#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make profile: where benchmark metrics spend their kernel time, composefs
# against the reference stack and EROFS alone.
#
#   PROFILE_ENTRIES=20000   size of the generated image (cfs-bench gen)
#   PROFILE_TOP=40          functions listed per profile
#   PROFILE_SEED=1          seed of the generated tree
#   PROFILE_METRICS=walk_cold,walk_warm
#                           what is profiled: also many_mounts and
#                           container_start (selftests/bench/profile.sh)
#   PROFILE_MANY=200        images many_mounts mounts
#   PROFILE_TOOL=perf       perf: sampling on the benchmark kernel with
#                           PROFILE_CPUS vCPUs (default 2, as the benchmark),
#                           every function seen by its own time, Rust
#                           included (Debian's perf, scripts/fetch-perf.sh);
#                           ftrace: the function profiler on the profiling
#                           kernel (the bench kernel's options plus
#                           selftests/config.prof), one vCPU, call counts
#                           and times with callees, C functions only
#
# Runs selftests/bench/profile.sh in the guest, whose header says what it
# prints; Rust symbols are demangled (c++filt) and their crate hashes
# dropped. Output also goes to build/prof/profile.txt.
#
# ftrace uses one vCPU: on this QEMU, turning the function profiler on
# with two vCPUs under TCG oopsed in the int3 handler that patches the
# fentry calls.
. "$(dirname "$0")/common.sh"

cd "$PROJECT_ROOT"
out=$PROJECT_ROOT/build/prof
mkdir -p "$out"
make -s tools selftests >&2
tool=${PROFILE_TOOL:-perf}
case $tool in
perf)
	kernel=bench cpus=${PROFILE_CPUS:-2}
	perf=$(scripts/fetch-perf.sh)
	attach=(--attach "$perf")
	perf_dir=/attach/$(basename "$perf") ;;
ftrace)
	kernel=prof cpus=1 attach=() perf_dir= ;;
*) log "PROFILE_TOOL is perf or ftrace, not '$tool'"; exit 2 ;;
esac
scripts/build-module.sh $kernel >&2
log "guest: $kernel kernel, ${PROFILE_ENTRIES:-20000} entries, ${PROFILE_METRICS:-walk_cold,walk_warm}, $tool, $cpus vCPU(s) (a few minutes)"
set -o pipefail
VM_CPUS=$cpus selftests/vm-run --kernel $kernel --attach "$PROJECT_ROOT/selftests/bench" "${attach[@]}" -- \
	sh /attach/bench/profile.sh "${PROFILE_ENTRIES:-20000}" "${PROFILE_TOP:-40}" \
	"${PROFILE_SEED:-1}" "${PROFILE_METRICS:-walk_cold,walk_warm}" "${PROFILE_MANY:-200}" \
	$perf_dir 2>"$out/console.log" |
	stdbuf -oL c++filt | sed -u 's/\[[0-9a-f]\{16\}\]//g' | tee "$out/profile.txt"
