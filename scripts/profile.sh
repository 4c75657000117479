#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make profile: where a walk spends its kernel time, composefs against the
# reference stack and EROFS alone, from the ftrace function profiler (perf
# does not run under TCG).
#
#   PROFILE_ENTRIES=20000   size of the generated image (cfs-bench gen)
#   PROFILE_TOP=40          functions listed per profile
#   PROFILE_SEED=1          seed of the generated tree
#   PROFILE_METRICS=walk_cold,walk_warm
#                           what is profiled: also many_mounts and
#                           container_start (selftests/bench/profile.sh)
#   PROFILE_MANY=200        images many_mounts mounts
#
# Builds the profiling kernel (the bench kernel's options plus
# selftests/config.prof) and the module against it, boots it with one vCPU
# and runs selftests/bench/profile.sh, whose header says what it prints.
# Output also goes to build/prof/profile.txt.
#
# One vCPU: on this QEMU, turning the profiler on with two vCPUs under TCG
# oopsed in the int3 handler that patches the fentry calls.
. "$(dirname "$0")/common.sh"

cd "$PROJECT_ROOT"
out=$PROJECT_ROOT/build/prof
mkdir -p "$out"
make -s tools selftests >&2
scripts/build-module.sh prof >&2
log "guest: profiling kernel, ${PROFILE_ENTRIES:-20000} entries, ${PROFILE_METRICS:-walk_cold,walk_warm}, 1 vCPU (a few minutes)"
VM_CPUS=1 selftests/vm-run --kernel prof --attach "$PROJECT_ROOT/selftests/bench" -- \
	sh /attach/bench/profile.sh "${PROFILE_ENTRIES:-20000}" "${PROFILE_TOP:-40}" \
	"${PROFILE_SEED:-1}" "${PROFILE_METRICS:-walk_cold,walk_warm}" "${PROFILE_MANY:-200}" 2>"$out/console.log" | tee "$out/profile.txt"
