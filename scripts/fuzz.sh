#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Fuzz the shared image reader (src/format) with libFuzzer through cargo-fuzz:
# the target tools/fuzz/fuzz_targets/walk.rs opens the input as an image and
# walks it as the kernel does. Runs for FUZZ_SECONDS (default 600) at nice 19
# in one process, then merges the inputs that add coverage into the committed
# corpus (tools/fuzz/corpus/walk) and copies every crash, timeout or OOM input
# into tools/fuzz/crashes/walk. Both are replayed by `cargo test -p cfs-mutate`.
# Exit status non-zero if libFuzzer found a problem.
. "$(dirname "$0")/common.sh"

secs=${FUZZ_SECONDS:-600}
cf=$("$PROJECT_ROOT/scripts/install-cargo-fuzz.sh")
export PATH=$cf:$PATH
# libfuzzer-sys and -Zsanitizer need nightly flags: stable rustc with
# RUSTC_BOOTSTRAP=1, as the kernel build does.
export RUSTC_BOOTSTRAP=1 CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1}
cd "$PROJECT_ROOT/tools"
work=$CACHE_DIR/fuzz-corpus/walk
mkdir -p "$work" fuzz/crashes/walk fuzz/artifacts/walk
# The reader is safe Rust: no sanitizer needed; debug assertions and
# overflow checks on (-a and the fuzz crate's release profile).
flags=(-a -s none)
nice -n 19 cargo fuzz build "${flags[@]}" walk >&2
log "fuzzing the reader for ${secs}s (nice 19, one process)"
start=$(date +%s)
set +e
nice -n 19 cargo fuzz run "${flags[@]}" walk "$work" fuzz/corpus/walk -- \
	-max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
	-print_final_stats=1 2>&1 | tee "$CACHE_DIR/fuzz-walk.log" | grep -E '^#[0-9]+.*(pulse|DONE)|stat::|ERROR|panicked|SUMMARY|Test unit written' >&2
rc=${PIPESTATUS[0]}
set -e
log "fuzzed for $(($(date +%s) - start))s, libFuzzer exit status $rc"
found=0
for f in fuzz/artifacts/walk/*; do
	[ -e "$f" ] || continue
	cp "$f" fuzz/crashes/walk/
	log "problem input kept: tools/fuzz/crashes/walk/$(basename "$f")"
	found=1
done
# Keep the committed corpus small: add only inputs that add coverage.
before=$(ls fuzz/corpus/walk | wc -l)
nice -n 19 cargo fuzz run "${flags[@]}" walk fuzz/corpus/walk "$work" -- -merge=1 \
	-max_len=65536 -timeout=10 >/dev/null 2>&1 || true
log "corpus: $before -> $(ls fuzz/corpus/walk | wc -l) files ($(du -sh fuzz/corpus/walk | cut -f1))"
[ "$rc" = 0 ] && [ "$found" = 0 ]
